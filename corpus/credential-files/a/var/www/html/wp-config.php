<?php
/**
 * The base configuration for WordPress
 *
 * @package WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', 'wp_blog' );

/** Database username */
define( 'DB_USER', 'wp_blog' );

/** Database password */
define( 'DB_PASSWORD', 'AWcahLBZPoMgoOj^-G' );

/** Database hostname */
define( 'DB_HOST', 'db.corp.local' );

/** Database charset to use in creating database tables. */
define( 'DB_CHARSET', 'utf8mb4' );

/**#@+
 * Authentication unique keys and salts.
 *
 * Change these to different unique phrases! You can generate these using
 * the {@link https://api.wordpress.org/secret-key/1.1/salt/ WordPress.org secret-key service}.
 *
 * @since 2.6.0
 */
define( 'AUTH_KEY',         'cDgfiz],=D0t7?.7l WOT+j=JnZ.awcNqGcN8dehYxsa>;c@-(H,>6oEt0QK-KC4' );
define( 'SECURE_AUTH_KEY',  'CmY5bIH!)RDGtA(Uf.StaT21jDn_Ta_W|c]??=@E}YY}eeMoSn~w;9r 32qSw_zS' );
define( 'LOGGED_IN_KEY',    'PGNnVb#fbSvry(#(]:?#;W0636?<$;@L`([ws;YtPNN:(4gT[C.n98;W;6W$/gPE' );
define( 'NONCE_KEY',        '(OiioNCLoKTwoFaaGv%M#3;QHzL7K6M vNT4Y]_o<Bo%JhNNbOP*:A*BQBbLl+qu' );
define( 'AUTH_SALT',        '@o@8!32vzy24&^:)F]&,6H*>p$BI.K+xB}AdW5a7XSIK)6= 3#=b;n(cr4b#C|0I' );
define( 'SECURE_AUTH_SALT', ':sV%9f:6m=_Wdf&F6c(UM`/6*6>Xh+_^+2BM)k%|MJh(v|R )jA[CS(6iUaw$A!m' );
define( 'LOGGED_IN_SALT',   '}Cqcs6.nJG@uEl)t4;gK3`dVWiXpptMho@T8=rEsNr~HS%8`fNej+%@8@`wlx9xe' );
define( 'NONCE_SALT',       'bT[>wDcZ4@^qJ>*ESzcV0mMN^A6(`#ig/{w ka>v~dyoZg1Rin>Aj]MUZ)fL;s$>' );

/**#@-*/

$table_prefix = 'wp_';

define( 'WP_DEBUG', false );

if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}

require_once ABSPATH . 'wp-settings.php';
