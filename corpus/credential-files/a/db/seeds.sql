-- seed users for the staging database
INSERT INTO users (id, email, encrypted_password, created_at) VALUES
  (1, 'ada@corp.local', '$2b$12$Ji4gf9r4rR/RN3.Um.v0rb9SO.IDIcDvYVc.alMWly5wZXd2WJv0U', now()),
  (2, 'bob@corp.local', '$2a$10$KWr16qrEzJCiX7lK.x97oX7gK/hCf6iDsK2SfALr1NWNVtYCzX9k0', now()),
  (3, 'ci@corp.local', '', now());
-- flask admin
INSERT INTO "user" (username, password_hash) VALUES ('admin', 'pbkdf2:sha256:600000$wSuniohIcrOGc3ir$aac88a0f37b6860350d3939d17bb374e7dba46be9d7b59cb682a69a7578a3ea4');
INSERT INTO "user" (username, password_hash) VALUES ('ops', 'scrypt:32768:8:1$fSXwMI9esz26MEoT$39de8ceaecfa16b0cd061fdf4f34dd439c0fef0d5aa02f08b155861a3a46ee6f83c9a7cb479665aab2b604992dc7e857d23dfd70ede5671fea4b0ec828d1aca2');
-- django
INSERT INTO auth_user (id, password, is_superuser, username) VALUES (1, 'pbkdf2_sha256$870000$rzmSdDAfb1H4Cmfnw7xemQ$iq4BUotqjMGZ/BGsdLo8ejL1X34y6vR/A47scqlRuNw=', true, 'root');
