//! The problems a spec can have, as the caller sees them.
//!
//! Loading (the first step of spec -> render -> plan -> apply) collects
//! every problem it finds as a [`SpecProblem`] with file, position and key
//! path, and hands them back together as one [`SpecError`] before anything
//! touches a host.

use std::fmt;
use std::path::PathBuf;

use virtstrap_butane::yaml::Mark;

/// One problem in a spec: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// File the problem is in.
    pub file: PathBuf,
    /// Position (1-based), when known.
    pub mark: Option<Mark>,
    /// Key path, e.g. `$.nodes.0.memory`.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(m) = self.mark {
            write!(f, ":{}:{}", m.line, m.col)?;
        }
        write!(f, ": {}: {}", self.path, self.message)
    }
}

/// Every problem found in a spec; nothing was touched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The problems, in file order.
    pub problems: Vec<SpecProblem>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "the spec has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}
