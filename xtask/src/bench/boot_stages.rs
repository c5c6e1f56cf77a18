//! The stages of one boot's initramfs phase, read from the console's kernel timestamps (the
//! guest's clock, microseconds), and the table that sets them side by side for the three inits.
//!
//! The marks, in boot order:
//! - `Run /init as init process` (the kernel), the phase's start;
//! - `virtio_blk virtioN: [vda] …` (the kernel): the disk driver saw the disk, while the last
//!   module (virtio_pci, whose probe brings the disk) is being loaded;
//! - `…: modules loaded` and `…: root device found`: lines each init writes to `/dev/kmsg` after
//!   its module loop and once the root device is there;
//! - `EXT4-fs (vda): mounted` (the kernel): the root is mounted;
//! - `rspawn-payload: started` (the real init, the payload, as it starts): the phase's end.

use super::report::markdown_table;
use super::stats::{median, median_interval, per_round};
use rspawn_qemu_tests::payload::STARTED_LINE;
use rspawn_qemu_tests::Console;

const RUN_INIT: &str = "Run /init as init process";
/// The virtio_blk driver's line when it adds the disk (drivers/block/virtio_blk.c).
const DISK_PROBED: &str = ": [vda] ";
/// Written by an init to `/dev/kmsg` once its modules are loaded, after its own name and a colon.
const MODULES_LOADED: &str = ": modules loaded";
/// Written by an init to `/dev/kmsg` once the root device is there.
const DEVICE_FOUND: &str = ": root device found";
/// What the kernel prints once the OSTree disk (ext4 on the first virtio disk) is mounted.
const ROOT_MOUNTED: &str = "EXT4-fs (vda): mounted";

/// One boot's marks, in seconds since the kernel's start (its printk clock).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageMarks {
    pub run_init: f64,
    pub disk_probed: f64,
    pub modules_loaded: Option<f64>,
    pub device_found: Option<f64>,
    pub root_mounted: f64,
    pub init_started: f64,
}

impl StageMarks {
    /// The marks of `console`, or the first one missing.
    pub fn read(console: &Console) -> Result<Self, &'static str> {
        let mark = |needle: &'static str| console.kernel_time_of(needle).ok_or(needle);
        Ok(Self {
            run_init: mark(RUN_INIT)?,
            disk_probed: mark(DISK_PROBED)?,
            modules_loaded: console.kernel_time_of(MODULES_LOADED),
            device_found: console.kernel_time_of(DEVICE_FOUND),
            root_mounted: mark(ROOT_MOUNTED)?,
            init_started: mark(STARTED_LINE)?,
        })
    }

    /// The initramfs phase: `Run /init` to the real init's start.
    pub fn phase(&self) -> f64 {
        self.init_started - self.run_init
    }
}

/// One row of the stage table: a span between two marks, if the boot has both.
pub struct Stage {
    pub name: &'static str,
    pub span: fn(&StageMarks) -> Option<f64>,
}

/// The table's rows: the finest stages first, then the spans every init has marks for.
pub const STAGES: &[Stage] = &[
    Stage { name: "`Run /init` → disk probed (`[vda]`)", span: |m| Some(m.disk_probed - m.run_init) },
    Stage { name: "disk probed → modules loaded", span: |m| Some(m.modules_loaded? - m.disk_probed) },
    Stage {
        name: "modules loaded → root device found", span: |m| Some(m.device_found? - m.modules_loaded?)
    },
    Stage { name: "root device found → root mounted", span: |m| Some(m.root_mounted - m.device_found?) },
    Stage { name: "disk probed → root mounted", span: |m| Some(m.root_mounted - m.disk_probed) },
    Stage { name: "root mounted → real init started", span: |m| Some(m.init_started - m.root_mounted) },
    Stage { name: "`Run /init` → real init started (the phase)", span: |m| Some(m.phase()) },
];

/// The stage table: for each stage the median of each init's boots, then, against the floor
/// (the last subject) round by round, the median ratio and the median difference of each other
/// init's span, with their 95 % intervals. `marks[i][round]` is subject `i`'s boot of that round.
pub fn table(subjects: &[&str], marks: &[Vec<StageMarks>]) -> String {
    let floor = subjects.len() - 1;
    let mut header: Vec<String> = vec!["stage".into()];
    header.extend(subjects.iter().map(|s| s.to_string()));
    for subject in &subjects[..floor] {
        header.push(format!("{subject} / floor"));
        header.push(format!("{subject} − floor"));
    }
    let rows: Vec<Vec<String>> = STAGES
        .iter()
        .map(|stage| {
            let spans: Vec<Vec<Option<f64>>> =
                marks.iter().map(|boots| boots.iter().map(stage.span).collect()).collect();
            let mut row = vec![stage.name.to_string()];
            for subject in &spans {
                let values: Vec<f64> = subject.iter().flatten().copied().collect();
                row.push(median(&values).map_or("–".into(), milliseconds));
            }
            for subject in &spans[..floor] {
                let ratios = paired(subject, &spans[floor], |a, b| a / b);
                row.push(interval_cell(&ratios, "×", |r| format!("{r:.2}")));
                let differences = paired(subject, &spans[floor], |a, b| a - b);
                row.push(interval_cell(&differences, " ms", |d| format!("{:+.1}", d * 1000.0)));
            }
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    markdown_table(&header, &rows, 1)
}

/// `pair` of the two spans of each round where both boots have the span.
fn paired(a: &[Option<f64>], b: &[Option<f64>], pair: fn(f64, f64) -> f64) -> Vec<f64> {
    let (a, b): (Vec<f64>, Vec<f64>) = a.iter().zip(b).filter_map(|(a, b)| Some(((*a)?, (*b)?))).unzip();
    per_round(&a, &b, pair)
}

/// `1.02× (0.97 to 1.08)`, `+3.1 ms (-0.4 to +7.9)`: the median, its unit and its interval; the
/// median alone below 6 rounds.
fn interval_cell(values: &[f64], unit: &str, number: impl Fn(f64) -> String) -> String {
    match (median_interval(values), median(values)) {
        (Some(i), _) => format!("{}{unit} ({} to {})", number(i.median), number(i.low), number(i.high)),
        (None, Some(m)) => format!("{}{unit}", number(m)),
        (None, None) => "–".into(),
    }
}

/// `12.3 ms`: a tenth of a millisecond is below what the boots can tell apart.
fn milliseconds(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR_BOOT: &str = "[    1.500000] Run /init as init process\n\
        [    1.900000] virtio_blk virtio0: [vda] 131072 512-byte logical blocks (67.1 MB/64.0 MiB)\n\
        [    1.910000] floor: modules loaded\n\
        [    1.911000] floor: root device found\n\
        [    1.950000] EXT4-fs (vda): mounted filesystem with ordered data mode. Quota mode: none.\n\
        [    2.030000] rspawn-payload: started\n\
        RSPAWN-PAYLOAD uptime=2.03\n";

    #[test]
    fn marks_are_read_from_kernel_timestamps() {
        let marks = StageMarks::read(&Console::from_text(FLOOR_BOOT)).unwrap();
        assert_eq!(marks.run_init, 1.5);
        assert_eq!(marks.disk_probed, 1.9);
        assert_eq!(marks.modules_loaded, Some(1.91));
        assert_eq!(marks.device_found, Some(1.911));
        assert_eq!(marks.root_mounted, 1.95);
        assert_eq!(marks.init_started, 2.03);
        assert!((marks.phase() - 0.53).abs() < 1e-9);
    }

    #[test]
    fn an_init_without_marker_lines_has_the_kernels_marks_only() {
        let text: String =
            FLOOR_BOOT.lines().filter(|l| !l.contains("floor:")).map(|l| format!("{l}\n")).collect();
        let marks = StageMarks::read(&Console::from_text(&text)).unwrap();
        assert_eq!((marks.modules_loaded, marks.device_found), (None, None));
        assert_eq!(
            StageMarks::read(&Console::from_text("[ 1.0] Run /init as init process\n")),
            Err(DISK_PROBED)
        );
    }

    #[test]
    fn the_table_shows_medians_and_ratios_to_the_last_subject() {
        let floor = StageMarks::read(&Console::from_text(FLOOR_BOOT)).unwrap();
        let ours = StageMarks { modules_loaded: None, device_found: None, init_started: 2.09, ..floor };
        let text = table(&["ours", "floor"], &[vec![ours; 6], vec![floor; 6]]);
        let phase = text.lines().find(|l| l.contains("(the phase)")).unwrap();
        assert!(phase.contains("590.0 ms") && phase.contains("530.0 ms"), "{text}");
        assert!(
            phase.contains("1.11× (1.11 to 1.11)") && phase.contains("+60.0 ms (+60.0 to +60.0)"),
            "{text}"
        );
        let one_round = table(&["ours", "floor"], &[vec![ours], vec![floor]]);
        assert!(
            one_round.lines().any(|l| l.contains("(the phase)") && l.contains(" 1.11× |")),
            "{one_round}"
        );
        let modules = text.lines().find(|l| l.starts_with("| disk probed → modules loaded")).unwrap();
        assert!(modules.contains(" – |"), "{text}");
    }
}
