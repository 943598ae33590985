//! Certificate subjects: the distinguished name of an X.509 certificate read from its DER
//! encoding, and the subjects a tokens file names (`CN=hmi-1,O=Plant`), compared as sets of
//! attributes.
//!
//! Only the few structures on the way to the subject are decoded (DER's definite lengths, no
//! multi-byte tags); anything else is an error, never a panic. The chain was already verified
//! by rustls against the client CA before a subject is read here.

use std::fmt;

/// Attribute types by OID, with the short names RFC 4514 (and OpenSSL) give them.
const NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
];

/// A distinguished name: its attributes as `(type, value)` pairs, the type a short name of
/// [`NAMES`] or a dotted OID. Two subjects are equal when they hold the same attributes,
/// whatever their order.
#[derive(Debug, Clone)]
pub struct Subject {
    /// In the order written (or encoded).
    attributes: Vec<(String, String)>,
    /// Sorted, for comparison.
    sorted: Vec<(String, String)>,
}

impl Subject {
    fn new(attributes: Vec<(String, String)>) -> Self {
        let mut sorted = attributes.clone();
        sorted.sort();
        Self { attributes, sorted }
    }

    /// Parses a subject as a tokens file writes it: `TYPE=VALUE` pairs separated by `,` (or
    /// `+`), types case-insensitive (`CN`, `O`, `OU`, `C`, `L`, `ST`, `STREET`, `DC`, `UID`,
    /// `serialNumber`, `emailAddress`, or a dotted OID), a backslash escaping the next
    /// character of a value, spaces around types and values ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut attributes = Vec::new();
        let mut chars = text.chars();
        loop {
            let mut key = String::new();
            let mut found_equals = false;
            for c in chars.by_ref() {
                if c == '=' {
                    found_equals = true;
                    break;
                }
                key.push(c);
            }
            let key = key.trim();
            if !found_equals {
                return Err(if key.is_empty() && attributes.is_empty() {
                    "empty subject (write e.g. CN=hmi-1,O=Plant)".to_owned()
                } else if key.is_empty() {
                    "a separator with no TYPE=VALUE after it".to_owned()
                } else {
                    format!("'{key}' has no '=VALUE'")
                });
            }
            let key = attribute_name(key)?;
            let mut value = String::new();
            // where the value's escaped part ends: trailing spaces after it are kept
            let mut kept = 0;
            let mut more = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        let Some(next) = chars.next() else {
                            return Err(format!("{key}: a value ends in a lone '\\'"));
                        };
                        value.push(next);
                        kept = value.len();
                    }
                    ',' | '+' => {
                        more = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = value.trim_end().len().max(kept);
            let value = value[..end].trim_start().to_owned();
            if value.is_empty() {
                return Err(format!("{key}: empty value"));
            }
            attributes.push((key, value));
            if !more {
                break;
            }
        }
        Ok(Self::new(attributes))
    }

    /// The subject of a DER-encoded X.509 certificate.
    pub fn from_certificate(der: &[u8]) -> Result<Self, String> {
        let certificate = Der(der).expect(SEQUENCE, "certificate")?;
        let tbs = Der(certificate).expect(SEQUENCE, "tbsCertificate")?;
        let mut tbs = Der(tbs);
        let (tag, _) = tbs.next("version or serial number")?;
        if tag == VERSION {
            tbs.expect(INTEGER, "serial number")?;
        } else if tag != INTEGER {
            return Err(format!("tag {tag:#04x} where the serial number belongs"));
        }
        tbs.expect(SEQUENCE, "signature algorithm")?;
        tbs.expect(SEQUENCE, "issuer")?;
        tbs.expect(SEQUENCE, "validity")?;
        let name = tbs.expect(SEQUENCE, "subject")?;
        let mut attributes = Vec::new();
        let mut rdns = Der(name);
        while !rdns.0.is_empty() {
            let mut set = Der(rdns.expect(SET, "relative distinguished name")?);
            while !set.0.is_empty() {
                let mut pair = Der(set.expect(SEQUENCE, "attribute")?);
                let oid = oid_text(pair.expect(OID, "attribute type")?)?;
                let (tag, value) = pair.next("attribute value")?;
                let key = NAMES
                    .iter()
                    .find(|(o, _)| *o == oid)
                    .map_or(oid, |(_, n)| (*n).to_owned());
                attributes.push((key, string_value(tag, value)));
            }
        }
        if attributes.is_empty() {
            return Err("the certificate's subject is empty".into());
        }
        Ok(Self::new(attributes))
    }
}

impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.sorted == other.sorted
    }
}

impl Eq for Subject {}

/// `CN=hmi-1,O=Plant`: the attributes in the order written or encoded, `,`, `+`, `=` and `\`
/// escaped in values.
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.attributes.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}=")?;
            for c in value.chars() {
                if matches!(c, ',' | '+' | '=' | '\\') {
                    write!(f, "\\")?;
                }
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// The canonical name of an attribute type written `name`.
fn attribute_name(name: &str) -> Result<String, String> {
    if let Some((_, short)) = NAMES
        .iter()
        .find(|(oid, short)| short.eq_ignore_ascii_case(name) || *oid == name)
    {
        return Ok((*short).to_owned());
    }
    let dotted = !name.is_empty()
        && name.split('.').count() >= 2
        && name
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
    if dotted {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "unknown attribute type '{name}' (CN, O, OU, C, L, ST, STREET, DC, UID, \
             serialNumber, emailAddress or a dotted OID)"
        ))
    }
}

const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT Version` of a v2 or v3 certificate.
const VERSION: u8 = 0xa0;

/// The rest of a DER encoding, read one TLV at a time.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next TLV's tag and contents; `what` names it in an error.
    fn next(&mut self, what: &str) -> Result<(u8, &'a [u8]), String> {
        let truncated = || format!("{what}: truncated");
        let (&tag, rest) = self.0.split_first().ok_or_else(truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(format!(
                "{what}: multi-byte tags are not used in certificates"
            ));
        }
        let (&first, rest) = rest.split_first().ok_or_else(truncated)?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(format!("{what}: not a DER length"));
            }
            let (bytes, rest) = rest.split_at_checked(n).ok_or_else(truncated)?;
            let len = bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            (len, rest)
        };
        let (contents, rest) = rest.split_at_checked(len).ok_or_else(truncated)?;
        self.0 = rest;
        Ok((tag, contents))
    }

    /// The contents of the next TLV, which must have tag `tag`.
    fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        match self.next(what)? {
            (t, contents) if t == tag => Ok(contents),
            (t, _) => Err(format!("{what}: tag {t:#04x}, expected {tag:#04x}")),
        }
    }
}

/// The dotted text of an encoded OBJECT IDENTIFIER.
fn oid_text(bytes: &[u8]) -> Result<String, String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut pending = false;
    for &b in bytes {
        if value > (u64::MAX >> 7) {
            return Err("object identifier: an arc too large".into());
        }
        value = (value << 7) | u64::from(b & 0x7f);
        pending = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - 40 * first);
            } else {
                arcs.push(value);
            }
            value = 0;
            pending = false;
        }
    }
    if pending || arcs.is_empty() {
        return Err("object identifier: truncated".into());
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// The text of an attribute value: the string types certificates use decoded, anything else
/// as `#` and its hexadecimal contents (as RFC 4514 writes values it cannot show).
fn string_value(tag: u8, bytes: &[u8]) -> String {
    const UTF8: u8 = 0x0c;
    const PRINTABLE: u8 = 0x13;
    const TELETEX: u8 = 0x14;
    const IA5: u8 = 0x16;
    const VISIBLE: u8 = 0x1a;
    const UNIVERSAL: u8 = 0x1c;
    const BMP: u8 = 0x1e;
    let decoded = match tag {
        UTF8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
        PRINTABLE | IA5 | VISIBLE => bytes
            .is_ascii()
            .then(|| bytes.iter().map(|&b| char::from(b)).collect()),
        // T.61 in theory; Latin-1 in the certificates that use it
        TELETEX => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        BMP if bytes.len().is_multiple_of(2) => char::decode_utf16(
            bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        UNIVERSAL if bytes.len().is_multiple_of(4) => bytes
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    };
    decoded.unwrap_or_else(|| {
        let mut hex = String::from("#");
        for b in bytes {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn certificate(names: &[(rcgen::DnType, &str)]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (ty, value) in names {
            params.distinguished_name.push(ty.clone(), *value);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_certificate_subject_is_read_and_matches_its_written_form_in_any_order() {
        let der = certificate(&[
            (rcgen::DnType::CountryName, "DE"),
            (rcgen::DnType::OrganizationName, "Plant, North"),
            (rcgen::DnType::CommonName, "hmi-1"),
        ]);
        let subject = Subject::from_certificate(&der).unwrap();
        assert_eq!(subject.to_string(), "C=DE,O=Plant\\, North,CN=hmi-1");
        for written in [
            "CN=hmi-1,O=Plant\\, North,C=DE",
            " cn = hmi-1 , o=Plant\\, North ,c=DE",
            "2.5.4.3=hmi-1+O=Plant\\, North,C=DE",
        ] {
            assert_eq!(Subject::parse(written).unwrap(), subject, "{written}");
        }
        // every attribute counts: a subset or a different value is another subject
        for other in [
            "CN=hmi-1",
            "CN=hmi-1,O=Plant\\, North,C=FR",
            "CN=hmi-2,O=Plant\\, North,C=DE",
        ] {
            assert_ne!(Subject::parse(other).unwrap(), subject, "{other}");
        }
    }

    #[test]
    fn bad_subjects_are_named() {
        for (text, says) in [
            ("", "empty subject"),
            ("CN", "no '=VALUE'"),
            ("CN=", "empty value"),
            ("CN=a,", "no TYPE=VALUE after it"),
            ("XX=a", "unknown attribute type 'XX'"),
            ("CN=a\\", "lone"),
        ] {
            let e = Subject::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn every_truncation_or_corruption_of_a_certificate_is_an_error_not_a_panic() {
        let der = certificate(&[(rcgen::DnType::CommonName, "plc")]);
        assert!(Subject::from_certificate(&der).is_ok());
        for n in 0..der.len() {
            let _ = Subject::from_certificate(&der[..n]);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let mut bad = der.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state % bad.len() as u64) as usize;
                bad[i] = (state >> 32) as u8;
            }
            let _ = Subject::from_certificate(&bad);
        }
        assert!(Subject::from_certificate(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Subject::from_certificate(b"-----BEGIN CERTIFICATE-----").is_err());
    }

    #[test]
    fn object_identifiers_and_string_types_decode() {
        assert_eq!(oid_text(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).unwrap(),
            "1.2.840.113549.1.9.1"
        );
        assert!(oid_text(&[0x2a, 0x86]).is_err());
        assert!(oid_text(&[0xff; 12]).is_err());
        assert_eq!(string_value(0x1e, &[0, b'h', 0, b'i']), "hi");
        assert_eq!(string_value(0x13, b"PLC"), "PLC");
        assert_eq!(string_value(0x04, &[0xab, 0x01]), "#ab01");
    }
}
