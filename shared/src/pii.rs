//! A guard on free text: finds what looks like a personal identifier in a description or a
//! place (DESIGN §8, "events, not people"), so that the app can warn before saving and the
//! dashboard can mark the entry. A pure function of the text: no I/O, no dictionary, no clock.
//!
//! [`find`] returns each finding's [`IdentifierKind`] and byte range, in text order, never two
//! overlapping. It cannot spot names; it spots the identifiers that have a shape.
//!
//! # The rules it relies on
//!
//! Every finding starts and ends at a word edge: no letter or digit right before or after it, and
//! no number it would continue (`12.5`, `2026-`, `-26`: a `-`, `+`, `.`, `,`, `:` or `/` with a
//! digit on the far side).
//!
//! - **Personnummer** (Skatteverket, SKV 704): `YYMMDD-NNNN`, `YYMMDD+NNNN` (`+` once the person
//!   is 100), `YYMMDDNNNN`, `YYYYMMDD-NNNN` and `YYYYMMDDNNNN`. The date must exist (29 February
//!   only in a leap year; with two-digit years, when the year is divisible by four, as it is in
//!   one of the centuries it could be; four-digit years from 1800 to 2099), and the last digit
//!   must be the Luhn check digit of the ten-digit form's first nine (weights 2, 1, 2, 1, …; the
//!   digits of each product summed).
//! - **Samordningsnummer** (SKV 707): the same, with 60 added to the day (61–91).
//! - **Telefonnummer**, Swedish (PTS's numbering plan): written nationally with the trunk prefix 0,
//!   or internationally as `+46` or `0046` (with or without `(0)`); groups of digits separated by
//!   spaces or a dash (`070-123 45 67`, `08-123 456 78`, `+46 70 123 45 67`, `0701234567`). After
//!   the 0 the national number has 7 to 9 digits; a mobile number (`07…`) has exactly 9. Numbers
//!   starting `00` other than `0046` are not taken. Any other `+` number with 8 to 15 digits (the
//!   E.164 maximum) is taken as a foreign phone number. 112 and 114 14 have no leading 0 and are
//!   never taken; neither are two four-digit times joined by a dash (`0100-0400`) or a day-month-
//!   year date (`02-12-2026`).
//! - **E-postadress**: a local part of letters, digits and `. _ % + -`, an `@`, and a domain of at
//!   least two labels (letters, digits, inner `-`) whose last is two or more letters.
//! - **Registreringsnummer** (Transportstyrelsen): three capital letters, then two digits, then a
//!   digit or a letter (`ABC 123`, `ABC123`, `ABC 12A`; a space or a dash may separate the letters
//!   from the rest). I, Q, V, Å, Ä and Ö are never used on plates, and the last position is never
//!   the letter O. Only capitals count: `ett 100-tal` is ordinary text. `SOS` (as in "SOS 112") is
//!   never taken for a plate.
//!
//! What does not look like an identifier stays quiet: times (`21:30`), dates (`2026-12-02`), police
//! event numbers (`5000-K123456-26`), counts, 112 and 114 14, street numbers (`Storgatan 12`),
//! years.

use crate::model::{Lang, labelled_enum};
use serde::{Deserialize, Serialize};
use std::ops::Range;

labelled_enum!(
    /// What a finding looks like.
    IdentifierKind {
        /// A Swedish personal identity number with a valid date and check digit.
        PersonalNumber = "personal_number", "Personnummer", "Personal identity number";
        /// A Swedish coordination number (day + 60) with a valid check digit.
        CoordinationNumber = "coordination_number", "Samordningsnummer", "Coordination number";
        /// A Swedish (or `+`-written foreign) phone number.
        PhoneNumber = "phone_number", "Telefonnummer", "Phone number";
        /// An e-mail address.
        Email = "email", "E-postadress", "E-mail address";
        /// A Swedish vehicle registration number.
        VehicleRegistration = "vehicle_registration", "Registreringsnummer", "Vehicle registration number";
    }
);

/// A likely personal identifier in a text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// What it looks like.
    pub kind: IdentifierKind,
    /// Where it is, in bytes; always on `char` boundaries of the text it was found in.
    pub range: Range<usize>,
}

impl Finding {
    /// The words of the finding in `text` (the text it was found in).
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.range.clone()).unwrap_or_default()
    }
}

/// Every likely personal identifier in `text`, in text order, none overlapping another. Where two
/// rules take the same words, the longer match wins, then the kind listed first in
/// [`IdentifierKind`] (a ten-digit number that is a valid personnummer is one, even if it could be
/// dialled).
pub fn find(text: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    identity_numbers(text, &mut found);
    phone_numbers(text, &mut found);
    emails(text, &mut found);
    registrations(text, &mut found);
    without_overlaps(found)
}

/// Whether `text` holds anything [`find`] finds.
pub fn holds_identifier(text: &str) -> bool {
    !find(text).is_empty()
}

fn without_overlaps(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by(|a, b| {
        a.range
            .start
            .cmp(&b.range.start)
            .then(b.range.end.cmp(&a.range.end))
            .then(a.kind.cmp(&b.kind))
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
    for finding in found {
        if kept
            .last()
            .is_none_or(|last| last.range.end <= finding.range.start)
        {
            kept.push(finding);
        }
    }
    kept
}

/// Characters that join two numbers into one (`12.5`, `2026-12`, `21:30`).
const JOINERS: &[char] = &['-', '+', '.', ',', ':', '/'];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a finding may start at `start`: no letter or digit right before it, and no number it
/// would continue.
fn starts_free(text: &str, start: usize) -> bool {
    let mut before = text.get(..start).unwrap_or_default().chars().rev();
    match before.next() {
        None => true,
        Some(c) if is_word(c) => false,
        Some(c) if JOINERS.contains(&c) => !before.next().is_some_and(|d| d.is_ascii_digit()),
        Some(_) => true,
    }
}

/// Whether a finding may end at `end`: no letter or digit right after it, and no number it would
/// go on into.
fn ends_free(text: &str, end: usize) -> bool {
    let mut after = text.get(end..).unwrap_or_default().chars();
    match after.next() {
        None => true,
        Some(c) if is_word(c) => false,
        Some(c) if JOINERS.contains(&c) => !after.next().is_some_and(|d| d.is_ascii_digit()),
        Some(_) => true,
    }
}

/// Where the run of ASCII digits starting at `from` ends.
fn digit_run_end(bytes: &[u8], from: usize) -> usize {
    bytes.get(from..).map_or(from, |rest| {
        from + rest.iter().take_while(|b| b.is_ascii_digit()).count()
    })
}

/// The value of two ASCII digits.
fn two_digits(digits: &[u8]) -> u32 {
    digits
        .iter()
        .take(2)
        .fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

// --- Personnummer and samordningsnummer --------------------------------------------------------

fn identity_numbers(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let run_end = digit_run_end(bytes, at);
        if starts_free(text, at)
            && let Some((end, kind)) = identity_number_at(text, at, run_end)
        {
            out.push(Finding {
                kind,
                range: at..end,
            });
        }
        at = run_end;
    }
}

/// An identity number starting at `start`, whose first run of digits ends at `run_end`: where it
/// ends and which kind it is.
fn identity_number_at(text: &str, start: usize, run_end: usize) -> Option<(usize, IdentifierKind)> {
    let bytes = text.as_bytes();
    let run = &bytes[start..run_end];
    let (digits, end) = match run.len() {
        10 | 12 => (run.to_vec(), run_end),
        6 | 8 => {
            let separator = *bytes.get(run_end)?;
            if !(separator == b'-' || (separator == b'+' && run.len() == 6)) {
                return None;
            }
            let tail_end = digit_run_end(bytes, run_end + 1);
            if tail_end - (run_end + 1) != 4 {
                return None;
            }
            let mut digits = run.to_vec();
            digits.extend_from_slice(&bytes[run_end + 1..tail_end]);
            (digits, tail_end)
        }
        _ => return None,
    };
    if !ends_free(text, end) {
        return None;
    }
    let (year, ten) = if digits.len() == 12 {
        let century = two_digits(&digits);
        if !(18..=20).contains(&century) {
            return None;
        }
        (Some(century * 100 + two_digits(&digits[2..])), &digits[2..])
    } else {
        (None, &digits[..])
    };
    let (yy, month, day) = (
        two_digits(ten),
        two_digits(&ten[2..]),
        two_digits(&ten[4..]),
    );
    let (kind, day) = if day > 60 {
        (IdentifierKind::CoordinationNumber, day - 60)
    } else {
        (IdentifierKind::PersonalNumber, day)
    };
    (date_exists(year, yy, month, day) && luhn_holds(ten)).then_some((end, kind))
}

/// Whether the day exists: `year` when all four digits are known, else the two-digit `yy`.
fn date_exists(year: Option<u32>, yy: u32, month: u32, day: u32) -> bool {
    let leap = match year {
        Some(y) => y % 4 == 0 && (y % 100 != 0 || y % 400 == 0),
        None => yy.is_multiple_of(4),
    };
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Whether the tenth of ten ASCII digits is the Luhn check digit of the first nine.
fn luhn_holds(ten: &[u8]) -> bool {
    let [body @ .., check] = ten else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let product = u32::from(d - b'0') * if i % 2 == 0 { 2 } else { 1 };
            product / 10 + product % 10
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check - b'0')
}

// --- Phone numbers -----------------------------------------------------------------------------

fn phone_numbers(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if (byte == b'+' || byte == b'0')
            && starts_free(text, at)
            && let Some(end) = phone_number_at(text, at)
        {
            out.push(Finding {
                kind: IdentifierKind::PhoneNumber,
                range: at..end,
            });
            at = end;
        } else if byte.is_ascii_digit() {
            // A 0 inside a number never starts one.
            at = digit_run_end(bytes, at);
        } else {
            at += 1;
        }
    }
}

/// A phone number starting at `start` (a `+` or a `0`): where it ends.
fn phone_number_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let international = bytes[start] == b'+';
    let mut at = start + usize::from(international);
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut digits: Vec<u8> = Vec::new();
    loop {
        let end = digit_run_end(bytes, at);
        if end == at {
            break;
        }
        groups.push(at..end);
        digits.extend_from_slice(&bytes[at..end]);
        let after_country_code = if international {
            digits == b"46"
        } else {
            digits == b"0046"
        };
        match separator_end(bytes, end, after_country_code) {
            Some(next) => at = next,
            None => break,
        }
    }
    // The longest run of whole groups that makes a number.
    for count in (1..=groups.len()).rev() {
        let taken = &groups[..count];
        let end = taken[count - 1].end;
        let digits: Vec<u8> = taken
            .iter()
            .flat_map(|group| bytes[group.clone()].iter().copied())
            .collect();
        if phone_digits_valid(&digits, international)
            && !looks_like_time_or_date(bytes, taken)
            && ends_free(text, end)
        {
            return Some(end);
        }
    }
    None
}

/// Where the next group of digits starts after the separator at `from` (up to two spaces, an
/// optional dash, up to two spaces; right after the country code also `(0)`), if one follows.
fn separator_end(bytes: &[u8], from: usize, after_country_code: bool) -> Option<usize> {
    let mut at = from;
    let spaces = |at: &mut usize| {
        let mut n = 0;
        while n < 2 && bytes.get(*at) == Some(&b' ') {
            *at += 1;
            n += 1;
        }
    };
    spaces(&mut at);
    if after_country_code && bytes.get(at..).is_some_and(|rest| rest.starts_with(b"(0)")) {
        at += 3;
        spaces(&mut at);
    }
    if bytes.get(at) == Some(&b'-') {
        at += 1;
        spaces(&mut at);
    }
    (at > from && bytes.get(at).is_some_and(u8::is_ascii_digit)).then_some(at)
}

/// Whether the digits make a phone number: Swedish by the numbering plan, or foreign after `+`.
fn phone_digits_valid(digits: &[u8], international: bool) -> bool {
    let national = if international {
        match digits.strip_prefix(b"46") {
            Some(rest) => rest,
            None => {
                return (8..=15).contains(&digits.len()) && digits.first() != Some(&b'0');
            }
        }
    } else if let Some(rest) = digits.strip_prefix(b"0046") {
        rest
    } else if digits.starts_with(b"00") {
        return false;
    } else {
        digits
    };
    // The trunk prefix (also when written after +46, by habit).
    let national = national.strip_prefix(b"0").unwrap_or(national);
    match national.first() {
        Some(b'7') => national.len() == 9,
        Some(b'1'..=b'9') => (7..=9).contains(&national.len()),
        _ => false,
    }
}

/// Two four-digit times joined by a dash (`0100-0400`) or a day-month-year date (`02-12-2026`).
fn looks_like_time_or_date(bytes: &[u8], groups: &[Range<usize>]) -> bool {
    let group = |i: usize| &bytes[groups[i].clone()];
    match groups
        .iter()
        .map(ExactSizeIterator::len)
        .collect::<Vec<_>>()[..]
    {
        [4, 4] => {
            let time = |g: &[u8]| two_digits(g) <= 23 && two_digits(&g[2..]) <= 59;
            time(group(0)) && time(group(1))
        }
        [2, 2, 4] => two_digits(group(0)) <= 31 && (1..=12).contains(&two_digits(group(1))),
        _ => false,
    }
}

// --- E-mail addresses --------------------------------------------------------------------------

fn emails(text: &str, out: &mut Vec<Finding>) {
    for (at, _) in text.match_indices('@') {
        if let Some(range) = email_around(text, at) {
            out.push(Finding {
                kind: IdentifierKind::Email,
                range,
            });
        }
    }
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// The address around the `@` at `at`, if there is one.
fn email_around(text: &str, at: usize) -> Option<Range<usize>> {
    let before = text.get(..at)?;
    let mut start = at;
    for (i, c) in before.char_indices().rev() {
        if !is_local_char(c) {
            break;
        }
        start = i;
    }
    // An address does not start with a dot.
    while text[start..at].starts_with('.') {
        start += 1;
    }
    let after = text.get(at + 1..)?;
    let mut end = at + 1;
    for (i, c) in after.char_indices() {
        if !is_domain_char(c) {
            break;
        }
        end = at + 1 + i + c.len_utf8();
    }
    // A sentence's full stop or a dash after the address is not part of it.
    while text[at + 1..end].ends_with(['.', '-']) {
        end -= 1;
    }
    let local = &text[start..at];
    let domain = &text[at + 1..end];
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    let top_ok = labels
        .last()
        .is_some_and(|top| top.chars().count() >= 2 && top.chars().all(char::is_alphabetic));
    (!local.is_empty() && labels_ok && top_ok).then_some(start..end)
}

// --- Vehicle registrations ---------------------------------------------------------------------

/// A letter used on Swedish plates: A–Z without I, Q and V (Å, Ä and Ö are not ASCII).
fn plate_letter(byte: u8) -> bool {
    byte.is_ascii_uppercase() && !matches!(byte, b'I' | b'Q' | b'V')
}

fn registrations(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    for start in 0..bytes.len() {
        if let Some(end) = registration_at(text, start) {
            out.push(Finding {
                kind: IdentifierKind::VehicleRegistration,
                range: start..end,
            });
        }
    }
}

/// A registration starting at `start`: where it ends.
fn registration_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let letters = bytes.get(start..start + 3)?;
    if !letters.iter().all(|&b| plate_letter(b)) || letters == b"SOS" || !starts_free(text, start) {
        return None;
    }
    let mut at = start + 3;
    if matches!(bytes.get(at), Some(b' ' | b'-')) {
        at += 1;
    }
    let tail = bytes.get(at..at + 3)?;
    let last = tail[2];
    let tail_ok = tail[0].is_ascii_digit()
        && tail[1].is_ascii_digit()
        && (last.is_ascii_digit() || (plate_letter(last) && last != b'O'));
    let end = at + 3;
    (tail_ok && ends_free(text, end)).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    use super::IdentifierKind::{
        CoordinationNumber as Coordination, Email, PersonalNumber as Personal,
        PhoneNumber as Phone, VehicleRegistration as Plate,
    };

    /// What was found, as (kind, words).
    fn found(text: &str) -> Vec<(IdentifierKind, &str)> {
        find(text)
            .into_iter()
            .map(|f| (f.kind, f.text(text)))
            .collect()
    }

    #[rstest]
    // Personnummer, every written form (Skatteverket's example numbers).
    #[case::short_with_dash("811218-9876", Personal, "811218-9876")]
    #[case::short_without_dash("8112189876", Personal, "8112189876")]
    #[case::long_with_dash("19811218-9876", Personal, "19811218-9876")]
    #[case::long_without_dash("198112189876", Personal, "198112189876")]
    #[case::hundred_year_old_plus("121212+1212", Personal, "121212+1212")]
    #[case::tolvan("19121212-1212", Personal, "19121212-1212")]
    #[case::in_a_sentence("Han uppgav 811218-9876 som sitt nummer.", Personal, "811218-9876")]
    #[case::in_brackets("(pnr 811218-9876)", Personal, "811218-9876")]
    #[case::leap_day_2000("000229-1235", Personal, "000229-1235")]
    #[case::leap_day_long("20000229-1235", Personal, "20000229-1235")]
    #[case::twenty_first_century("200506071232", Personal, "200506071232")]
    // Samordningsnummer: day + 60.
    #[case::coordination("701063-2391", Coordination, "701063-2391")]
    #[case::coordination_long("197010632391", Coordination, "197010632391")]
    // Phone numbers.
    #[case::mobile_grouped("Ring 070-123 45 67 imorgon", Phone, "070-123 45 67")]
    #[case::mobile_plain("0701234567", Phone, "0701234567")]
    #[case::mobile_spaced("073 123 45 67", Phone, "073 123 45 67")]
    #[case::mobile_dash_with_spaces("076 - 123 45 67", Phone, "076 - 123 45 67")]
    #[case::mobile_dashes("070-123-45-67", Phone, "070-123-45-67")]
    #[case::mobile_international("+46 70 123 45 67", Phone, "+46 70 123 45 67")]
    #[case::mobile_international_plain("+46701234567", Phone, "+46701234567")]
    #[case::mobile_international_trunk("+46 (0)70-123 45 67", Phone, "+46 (0)70-123 45 67")]
    #[case::mobile_double_zero("0046 70 123 45 67", Phone, "0046 70 123 45 67")]
    #[case::stockholm("08-123 456 78", Phone, "08-123 456 78")]
    #[case::stockholm_short("08-12 34 56", Phone, "08-12 34 56")]
    #[case::gothenburg("031-12 34 56", Phone, "031-12 34 56")]
    #[case::kiruna("0980-123 45", Phone, "0980-123 45")]
    #[case::landline_international("+46 8 123 456 78", Phone, "+46 8 123 456 78")]
    #[case::foreign("+47 22 12 34 56", Phone, "+47 22 12 34 56")]
    #[case::followed_by_a_count("0701234567 3 personer", Phone, "0701234567")]
    #[case::end_of_sentence("Numret var 070-123 45 67.", Phone, "070-123 45 67")]
    // E-mail addresses.
    #[case::email("anna.svensson@example.se", Email, "anna.svensson@example.se")]
    #[case::email_plus("a+b@sub.example.com", Email, "a+b@sub.example.com")]
    #[case::email_swedish_letters("Skriv till åsa@exempel.se.", Email, "åsa@exempel.se")]
    #[case::email_in_brackets("(kalle_92@mejl.nu)", Email, "kalle_92@mejl.nu")]
    #[case::email_with_digits_first("8112189876@example.se", Email, "8112189876@example.se")]
    // Vehicle registrations.
    #[case::plate_spaced("En vit Volvo, ABC 123, körde iväg", Plate, "ABC 123")]
    #[case::plate_plain("ABC123", Plate, "ABC123")]
    #[case::plate_letter_last("ABC 12A", Plate, "ABC 12A")]
    #[case::plate_dash("XYZ-987", Plate, "XYZ-987")]
    #[case::plate_w("WWW 12Z", Plate, "WWW 12Z")]
    fn finds_identifiers(#[case] text: &str, #[case] kind: IdentifierKind, #[case] words: &str) {
        assert_eq!(found(text), [(kind, words)], "{text:?}");
    }

    #[rstest]
    // Personnummer near misses.
    #[case::wrong_check_digit("811218-9875")]
    #[case::wrong_check_digit_long("198112189877")]
    #[case::month_thirteen("811318-9875")]
    #[case::thirtieth_of_february("810230-9872")]
    #[case::day_zero("811200-9876")]
    #[case::no_leap_day_1900("19000229-1235")]
    #[case::century_out_of_range("21811218-9876")]
    #[case::coordination_day_too_high("701093-2395")]
    #[case::too_few_digits("81121-9876")]
    #[case::too_few_digits_at_end("811218-987")]
    #[case::too_many_digits_at_end("811218-98765")]
    #[case::eleven_digits("81121898765")]
    #[case::plus_in_long_form("19811218+9876")]
    #[case::space_in_the_middle("811218 9876")]
    #[case::inside_a_word("X811218-9876")]
    // Phone near misses.
    #[case::mobile_nine_digits("070-123 45 6")]
    #[case::mobile_eleven_digits("070 123 45 678")]
    #[case::too_short_international("+46 70 123")]
    #[case::emergency("Ringde 112, sedan 114 14.")]
    #[case::emergency_joined("11414")]
    #[case::night_hours("Vi gick 0100-0400 i centrum")]
    #[case::night_hours_again("kl. 0030-0300")]
    #[case::day_month_year("02-12-2026")]
    #[case::temperature("+5 grader")]
    #[case::double_zero_other("00123456789")]
    #[case::inside_a_number("12.0701234567")]
    // E-mail near misses.
    #[case::mention("@polisen")]
    #[case::no_domain("anna@")]
    #[case::no_top_level("anna@localhost")]
    #[case::short_top_level("a@b.c")]
    #[case::numeric_top_level("a@example.123")]
    #[case::no_local_part("@example.se")]
    // Registration near misses.
    #[case::letter_i("ABI 123")]
    #[case::letter_q("AQC 123")]
    #[case::letter_v("AVC 123")]
    #[case::swedish_letter("ÅBC 123")]
    #[case::o_last("ABC 12O")]
    #[case::lowercase("abc 123")]
    #[case::lowercase_words("ett 100-tal ungdomar")]
    #[case::four_letters("ABCD 123")]
    #[case::four_digits("ABC 1234")]
    #[case::two_digits("ABC 12")]
    #[case::word_in_text("Vi såg ABC-butiken och ABC i skylten")]
    #[case::sos("Ringde SOS 112")]
    // Ordinary patrol text.
    #[case::time("Kl 21:30 vid Storgatan 12")]
    #[case::date("2026-12-02")]
    #[case::date_and_time("2026-12-02 21:30")]
    #[case::police_event_number("Händelsenummer 5000-K123456-26")]
    #[case::counts("3 ungdomar, 2 vuxna, 14 år gamla")]
    #[case::street_number("Storgatan 12A, port 3")]
    #[case::years("Sedan 1998, i år 2026")]
    #[case::road("Bilen stod vid E4:an, buss 172 mot Skarpnäck")]
    #[case::compact_date("20261202")]
    #[case::empty("")]
    fn stays_quiet_on(#[case] text: &str) {
        assert_eq!(found(text), [], "{text:?}");
    }

    #[test]
    fn finds_several_in_text_order_with_byte_ranges() {
        let text = "Åsa på Hötorget: ring 070-123 45 67 eller mejla anna@example.se, bilen ABC 123, pnr 811218-9876";
        assert_eq!(
            found(text),
            [
                (Phone, "070-123 45 67"),
                (Email, "anna@example.se"),
                (Plate, "ABC 123"),
                (Personal, "811218-9876"),
            ]
        );
        let first = &find(text)[0];
        assert_eq!(first.range, 25..38, "bytes, after the two-byte Å and ö");
        assert!(holds_identifier(text));
        assert!(!holds_identifier("Lugnt vid torget, 5 ungdomar."));
    }

    #[test]
    fn a_personnummer_that_could_be_dialled_is_a_personnummer() {
        // 0701234567 is not a valid personnummer; 0701234569 is (23 January 2007).
        assert_eq!(found("0701234567"), [(Phone, "0701234567")]);
        assert_eq!(found("0701234569"), [(Personal, "0701234569")]);
    }

    #[test]
    fn the_kinds_have_swedish_and_english_labels_and_wire_names() {
        for kind in IdentifierKind::ALL.iter().copied() {
            assert!(!kind.label(Lang::Sv).is_empty() && !kind.label(Lang::En).is_empty());
            assert_eq!(IdentifierKind::from_wire(kind.as_str()), Some(kind));
        }
        assert_eq!(Personal.label(Lang::Sv), "Personnummer");
        assert_eq!(Plate.label(Lang::En), "Vehicle registration number");
    }

    proptest! {
        #[test]
        fn findings_are_ordered_apart_and_on_char_boundaries(text in "[0-9A-Zaöå@.+ ()-]{0,60}") {
            let findings = find(&text);
            for pair in findings.windows(2) {
                prop_assert!(pair[0].range.end <= pair[1].range.start);
            }
            for finding in &findings {
                prop_assert!(text.is_char_boundary(finding.range.start));
                prop_assert!(text.is_char_boundary(finding.range.end));
                prop_assert!(!finding.range.is_empty());
            }
        }

        #[test]
        fn any_text_is_read_without_panicking(text in any::<String>()) {
            let _ = find(&text);
        }
    }
}
