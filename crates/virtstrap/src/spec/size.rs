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
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size (write e.g. 4GiB or 512MiB)"))?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("{text:?} is too large"));
    }
    if bytes.fract() != 0.0 {
        return Err(format!("{text:?} is not a whole number of bytes"));
    }
    Ok(bytes as u64)
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
