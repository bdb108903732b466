//! Input in the legacy encodings people's files still use: a rule's examples are text
//! (UTF-8), so what rules do with other bytes is tested here.

use keysweep::{RuleSet, Scanner};

/// Account lists saved as CSV from Japanese, Korean and Chinese spreadsheets keep the legacy
/// encodings (a rule's examples are text, so these bytes are tested here): the password
/// column is read by its header in Shift_JIS, EUC-JP, CP949, GBK and Big5.
#[test]
fn csv_headers_in_legacy_cjk_encodings_name_the_password_column() {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let headers: [&[u8]; 5] = [
        b"\x83p\x83X\x83\x8f\x81[\x83h",
        b"\xa5\xd1\xa5\xb9\xa5\xef\xa1\xbc\xa5\xc9",
        b"\xba\xf1\xb9\xd0\xb9\xf8\xc8\xa3",
        b"\xc3\xdc\xc2\xeb",
        b"\xb1K\xbdX",
    ];
    for header in headers {
        let mut text = b"No,System,Login,".to_vec();
        text.extend_from_slice(header);
        text.extend_from_slice(b",Owner\n1,KING OF TIME,kot_admin01,9PN%q6mtK_,Saito\n");
        let found = scanner.scan_file(&mut scanner.scratch(), &text, Some("accounts.csv"));
        let secrets: Vec<&[u8]> = found.iter().map(|f| &f.secret[..]).collect();
        assert_eq!(secrets, vec![&b"9PN%q6mtK_"[..]], "{header:x?}");
    }
    // A remark in the column, in the same encoding (`（別途管理）`, managed elsewhere), is none.
    let mut text = b"No,System,Login,\x83p\x83X\x83\x8f\x81[\x83h,Owner\n".to_vec();
    text.extend_from_slice(b"4,Microsoft 365,admin,\x81i\x95\xca\x93r\x8a\xc7\x97\x9d\x81j,IT\n");
    assert!(scanner
        .scan_file(&mut scanner.scratch(), &text, Some("accounts.csv"))
        .is_empty());
    let other = b"No,System,Login,Owner\n1,KING OF TIME,kot_admin01,9PN%q6mtK_\n";
    assert!(scanner
        .scan_file(&mut scanner.scratch(), other, Some("accounts.csv"))
        .is_empty());
}

/// INI files that Windows programs of Russia, Poland and China write in their code pages
/// (1C exchange settings in Windows-1251 or KOI8-R, Subiekt exports in Windows-1250, ERP
/// clients in GBK): the password key is read in those bytes.
#[test]
fn ini_password_keys_in_legacy_code_pages() {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let keys: [&[u8]; 4] = [
        b"\xcf\xe0\xf0\xee\xeb\xfc",
        b"\xf0\xc1\xd2\xcf\xcc\xd8",
        b"Has\xb3o",
        b"\xc3\xdc\xc2\xeb",
    ];
    for key in keys {
        let mut text = b"[Exchange]\r\nUser=exchange_1c\r\n".to_vec();
        text.extend_from_slice(key);
        text.extend_from_slice(b"=1q2w900!jupF\r\n");
        let found = scanner.scan_file(&mut scanner.scratch(), &text, Some("settings.ini"));
        let secrets: Vec<&[u8]> = found.iter().map(|f| &f.secret[..]).collect();
        assert_eq!(secrets, vec![&b"1q2w900!jupF"[..]], "{key:x?}");
    }
    // The same line in a Markdown file is left to the prose rules.
    let text = b"\xcf\xe0\xf0\xee\xeb\xfc=1q2w900!jupF\n";
    assert!(scanner
        .scan_file(&mut scanner.scratch(), text, Some("notes.md"))
        .is_empty());
}
