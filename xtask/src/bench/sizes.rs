//! Size: the static release init against its peers, each with the files it needs to run.

use super::peers;
use super::report::{format_value, Report, Unit, OURS};
use crate::cmd::header;
use crate::static_binary::SIZE_GOAL;
use anyhow::{Context, Result};
use std::fs;
use std::path::Path;

const GROUP: &str = "binary size (+ the libraries it needs)";

pub fn measure(init: &Path, report: &mut Report) -> Result<()> {
    header("bench: size of rspawn-init and its peers");
    let ours = fs::metadata(init).with_context(|| format!("reading {}", init.display()))?.len();
    report.add(GROUP, OURS, ours as f64, Unit::Bytes);
    for peer in peers::size_peers()? {
        report.add(GROUP, &peer.name, peer.size()? as f64, Unit::Bytes);
    }
    report.goal(
        "size of the static release binary",
        &format!("≤ {}", format_value(SIZE_GOAL as f64, Unit::Bytes)),
        format_value(ours as f64, Unit::Bytes),
        ours <= SIZE_GOAL,
    );
    Ok(())
}
