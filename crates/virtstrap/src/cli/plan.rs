//! `virtstrap plan`: what apply would change on the host, and why.

use clap::Args as ClapArgs;

use crate::plan::PlanError;

use super::host::{plan_json, print_plan, Format, HostArgs, Opened};
use super::spec_args::IgnitionErrors;

/// Show what apply would change on the host, and why.
///
/// Compares the spec with the host and lists each step: + create,
/// ~ update, -/+ replace, - delete, each with its reason. Only what the
/// spec sets is compared; libvirt's own defaults are not drift. Takes no
/// lock and changes nothing.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    host: HostArgs,
    /// text, or json for programs
    #[arg(short, long, value_enum, default_value = "text")]
    output: Format,
    /// Take over objects with clashing names that virtstrap did not make
    #[arg(long)]
    adopt: bool,
}

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let s = match args.host.open_any(false, false)? {
        Opened::One(s) => *s,
        Opened::Fleet(f) => {
            let (cluster, fleet) = *f;
            let wants = super::fleet::desired(&fleet)?;
            let adopt = args.adopt;
            let plans =
                super::fleet::plans(&fleet, &wants, &|m, w| m.session.checked_plan(w, adopt))?;
            super::fleet::print(&cluster, &fleet, &plans, args.output);
            return Ok(());
        }
    };
    let want = s.desired().map_err(IgnitionErrors::from)?;
    let plan = match s.checked_plan(&want, args.adopt) {
        // programs reading the JSON learn of the refusal from it too; the
        // error still leaves by the door (stderr, exit 2)
        Err(PlanError::Conflicts(c)) if matches!(args.output, Format::Json) => {
            println!("{:#}", serde_json::json!({ "steps": [], "conflicts": c }));
            return Err(PlanError::Conflicts(c).into());
        }
        r => r?,
    };
    match args.output {
        Format::Json => println!("{:#}", plan_json(&plan)),
        Format::Text => print_plan(&s.cluster.name, &s.uri, &plan, Format::Text),
    }
    Ok(())
}
