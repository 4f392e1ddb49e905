//! Sizes as users write them: `4GiB`, `512MiB`, `20G`, or a bare number in
//! the field's default unit (MiB for memory, GiB for disks, as the
//! write-up's `vmem: 4096` and `size: 20` mean). Used by the spec step
//! (spec -> render -> plan -> apply) to read sizes, and after it to print
//! them.

/// Unit a bare number is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Mebibytes (memory).
    MiB,
    /// Gibibytes (disks).
    GiB,
}

const KIB: u64 = 1024;
const MIB: u64 = KIB * 1024;
const GIB: u64 = MIB * 1024;
const TIB: u64 = GIB * 1024;

/// Parse `text` to bytes. Binary units (`KiB`..`TiB`, and the short `K`,
/// `M`, `G`, `T` as qemu-img reads them), decimal `KB`..`TB`, and `B`.
pub fn parse(text: &str, bare: Unit) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    if num.is_empty() {
        return Err(format!(
            "{text:?} is not a size (write e.g. 4GiB or 512MiB)"
        ));
    }
    let mult: u64 = match unit {
        "" => match bare {
            Unit::MiB => MIB,
            Unit::GiB => GIB,
        },
        "B" => 1,
        "K" | "KiB" | "k" => KIB,
        "M" | "MiB" => MIB,
        "G" | "GiB" => GIB,
        "T" | "TiB" => TIB,
        "KB" | "kB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "TB" => 1000 * 1000 * 1000 * 1000,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {text:?} (use B, KiB, MiB, GiB, TiB, or KB..TB)"
            ))
        }
    };
    exact_bytes(num, mult).map_err(|e| match e {
        Exact::NotANumber => format!("{text:?} is not a size (write e.g. 4GiB or 512MiB)"),
        Exact::TooLarge => format!("{text:?} is too large"),
        Exact::Fraction => format!("{text:?} is not a whole number of bytes"),
    })
}

/// Why a number of units is not a whole number of bytes.
enum Exact {
    NotANumber,
    TooLarge,
    Fraction,
}

/// `num` (digits, maybe one `.` and more digits) times `mult`, in exact
/// integer arithmetic: no float rounds `9007199254740993B`. At most
/// `u64::MAX / 2` bytes, which qemu-img and libvirt can still add to.
fn exact_bytes(num: &str, mult: u64) -> Result<u64, Exact> {
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(Exact::NotANumber);
    }
    let frac = frac.trim_end_matches('0');
    // more digits than any u64 has: too large or too fine either way
    if whole.trim_start_matches('0').len() > 20 || frac.len() > 19 {
        return Err(if frac.len() > 19 {
            Exact::Fraction
        } else {
            Exact::TooLarge
        });
    }
    let parse = |d: &str| {
        if d.is_empty() {
            Ok(0)
        } else {
            d.parse::<u128>()
        }
    };
    let (w, f) = match (parse(whole), parse(frac)) {
        (Ok(w), Ok(f)) => (w, f),
        _ => return Err(Exact::NotANumber),
    };
    let scale = 10u128.pow(u32::try_from(frac.len()).map_err(|_| Exact::Fraction)?);
    let frac_bytes = f * u128::from(mult);
    if frac_bytes % scale != 0 {
        return Err(Exact::Fraction);
    }
    let bytes = w * u128::from(mult) + frac_bytes / scale;
    if bytes > u128::from(u64::MAX / 2) {
        return Err(Exact::TooLarge);
    }
    u64::try_from(bytes).map_err(|_| Exact::TooLarge)
}

/// Bytes as the largest binary unit that divides them (`4GiB`).
pub fn human(bytes: u64) -> String {
    for (unit, size) in [("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)] {
        if bytes >= size && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        let cases: &[(&str, Unit, Result<u64, ()>)] = &[
            ("4GiB", Unit::MiB, Ok(4 * GIB)),
            ("512MiB", Unit::GiB, Ok(512 * MIB)),
            ("4096", Unit::MiB, Ok(4096 * MIB)),
            ("20", Unit::GiB, Ok(20 * GIB)),
            ("1.5G", Unit::GiB, Ok(3 * GIB / 2)),
            ("2 GiB", Unit::GiB, Ok(2 * GIB)),
            ("10GB", Unit::GiB, Ok(10_000_000_000)),
            ("4 gigs", Unit::GiB, Err(())),
            ("GiB", Unit::GiB, Err(())),
            ("-1", Unit::GiB, Err(())),
            // exact, not through floating point
            ("9007199254740993B", Unit::GiB, Ok(9_007_199_254_740_993)),
            ("9007199254740993", Unit::MiB, Err(())),
            ("9223372036854775807B", Unit::GiB, Ok(u64::MAX / 2)),
            ("9223372036854775808B", Unit::GiB, Err(())),
            ("0.5KiB", Unit::GiB, Ok(512)),
            ("1.0000000001GiB", Unit::GiB, Err(())),
            ("1.25B", Unit::GiB, Err(())),
            ("00000000000000000000000001B", Unit::GiB, Ok(1)),
            ("1.2.3G", Unit::GiB, Err(())),
            (".5G", Unit::GiB, Ok(GIB / 2)),
            ("5.G", Unit::GiB, Ok(5 * GIB)),
            (".", Unit::GiB, Err(())),
            ("99999999999999999999999999G", Unit::GiB, Err(())),
        ];
        for (text, unit, want) in cases {
            assert_eq!(parse(text, *unit).map_err(|_| ()), *want, "{text}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(4 * GIB), "4GiB");
        assert_eq!(human(1536 * MIB), "1536MiB");
        assert_eq!(human(1000), "1000B");
    }
}
