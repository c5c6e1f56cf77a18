//! The bench's results: figures grouped by what they measure, each compared with rspawn-init's figure
//! in the same group, tables of their own (the boot's stages), and the goals, each met, not
//! met, or undecided (a goal judged on a confidence interval that straddles its bound). Rendered as Markdown tables whose
//! columns are padded, so the same text reads well in a terminal and pastes into the README.

use std::fmt::Write as _;

/// The subject every other figure of a group is compared with.
pub const OURS: &str = "rspawn-init";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    Bytes,
    Count,
    Seconds,
    KiB,
}

#[derive(Clone, Debug)]
pub struct Figure {
    pub group: &'static str,
    pub subject: String,
    pub value: f64,
    pub unit: Unit,
}

/// A goal's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    Met,
    NotMet,
    /// The measurement cannot tell yet (its interval straddles the bound).
    Undecided,
}

impl From<bool> for Verdict {
    fn from(met: bool) -> Self {
        if met {
            Verdict::Met
        } else {
            Verdict::NotMet
        }
    }
}

#[derive(Clone, Debug)]
pub struct Goal {
    pub name: &'static str,
    pub target: String,
    pub measured: String,
    pub verdict: Verdict,
}

#[derive(Debug, Default)]
pub struct Report {
    figures: Vec<Figure>,
    /// (title, Markdown table), shown between the figures and the goals.
    tables: Vec<(String, String)>,
    goals: Vec<Goal>,
}

impl Report {
    /// Records a figure and prints it at once, so a long run shows its progress.
    pub fn add(&mut self, group: &'static str, subject: &str, value: f64, unit: Unit) {
        println!("bench: {group}: {subject}: {}", format_value(value, unit));
        self.figures.push(Figure { group, subject: subject.to_string(), value, unit });
    }

    /// Records a goal and prints whether it is met.
    pub fn goal(&mut self, name: &'static str, target: &str, measured: String, met: bool) {
        self.judged_goal(name, target, measured, met.into());
    }

    /// Records a goal whose verdict may be undecided, and prints it.
    pub fn judged_goal(&mut self, name: &'static str, target: &str, measured: String, verdict: Verdict) {
        println!("bench: goal {name} ({target}): {measured}: {}", verdict_word(verdict));
        self.goals.push(Goal { name, target: target.to_string(), measured, verdict });
    }

    /// Records a table of its own (already Markdown) and prints it.
    pub fn table(&mut self, title: &str, markdown: String) {
        println!("bench: {title}\n{markdown}");
        self.tables.push((title.to_string(), markdown));
    }

    /// The figure of `subject` in `group`, if measured.
    pub fn value(&self, group: &str, subject: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.group == group && f.subject == subject).map(|f| f.value)
    }

    /// The figures table, then the goals table, as padded Markdown.
    pub fn markdown(&self) -> String {
        let figures: Vec<Vec<String>> = self.figure_rows();
        let goals: Vec<Vec<String>> = self
            .goals
            .iter()
            .map(|g| {
                vec![g.name.to_string(), g.target.clone(), g.measured.clone(), verdict_word(g.verdict).into()]
            })
            .collect();
        let mut text = markdown_table(&["measurement", "subject", "median", "vs rspawn-init"], &figures, 2);
        text.push('\n');
        for (title, table) in &self.tables {
            let _ = writeln!(text, "{title}\n\n{table}");
        }
        text.push_str(&markdown_table(&["goal", "target", "measured", "met"], &goals, 4));
        text
    }

    fn figure_rows(&self) -> Vec<Vec<String>> {
        let mut previous_group = "";
        self.figures
            .iter()
            .map(|figure| {
                let group = if figure.group == previous_group { "" } else { figure.group };
                previous_group = figure.group;
                vec![
                    group.to_string(),
                    figure.subject.clone(),
                    format_value(figure.value, figure.unit),
                    self.ratio_to_ours(figure),
                ]
            })
            .collect()
    }

    fn ratio_to_ours(&self, figure: &Figure) -> String {
        match self.value(figure.group, OURS) {
            Some(ours) if ours > 0.0 => format!("{:.2}×", figure.value / ours),
            _ => "–".to_string(),
        }
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Met => "met",
        Verdict::NotMet => "NOT met",
        Verdict::Undecided => "undecided",
    }
}

/// `value` in its unit, rounded for people: `60912 B (59.5 KiB)`, `3.21 ms`, `1.234 s`.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{value:.0} B ({:.1} KiB)", value / 1024.0),
        Unit::Count => format!("{value:.0}"),
        Unit::Seconds if value < 1.0 => format!("{:.2} ms", value * 1000.0),
        Unit::Seconds => format!("{value:.3} s"),
        Unit::KiB => format!("{value:.0} KiB"),
    }
}

/// A Markdown table with every column padded to its widest cell; the columns from
/// `first_numeric` on are right-aligned.
pub fn markdown_table(header: &[&str], rows: &[Vec<String>], first_numeric: usize) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            std::iter::once(&header)
                .chain(rows)
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
                .max(3)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let padded = widths.iter().enumerate().map(|(column, &width)| {
            let cell = cells.get(column).map_or("", String::as_str);
            if column >= first_numeric {
                format!("{cell:>width$}")
            } else {
                format!("{cell:<width$}")
            }
        });
        format!("| {} |\n", padded.collect::<Vec<_>>().join(" | "))
    };
    let rule: Vec<String> =
        widths
            .iter()
            .enumerate()
            .map(|(column, &width)| {
                if column >= first_numeric {
                    format!("{}:", "-".repeat(width - 1))
                } else {
                    "-".repeat(width)
                }
            })
            .collect();
    let mut text = line(&header);
    let _ = writeln!(text, "| {} |", rule.join(" | "));
    for row in rows {
        text.push_str(&line(row));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_compared_with_ours_in_the_same_group() {
        let mut report = Report::default();
        report.add("size", OURS, 1000.0, Unit::Bytes);
        report.add("size", "tini", 2500.0, Unit::Bytes);
        report.add("brk/mmap", OURS, 0.0, Unit::Count);
        report.add("brk/mmap", "busybox", 7.0, Unit::Count);
        let text = report.markdown();
        assert!(text.contains("| size "), "{text}");
        assert!(text.contains("2.50×"), "{text}");
        assert!(text.contains("1.00×"), "{text}");
        // No ratio against a zero.
        assert!(text.lines().any(|l| l.contains("busybox") && l.trim_end().ends_with("– |")), "{text}");
    }

    #[test]
    fn goals_say_met_or_not_met() {
        let mut report = Report::default();
        report.goal("size", "≤ 40 KiB", "59.5 KiB".into(), false);
        report.goal("heap", "0 brk/mmap", "0".into(), true);
        report.judged_goal("boot", "≤ 1.05×", "1.04× (0.98–1.10)".into(), Verdict::Undecided);
        let text = report.markdown();
        let verdict = |name: &str| {
            let line = text.lines().find(|l| l.starts_with(&format!("| {name} "))).unwrap();
            line.trim_end_matches(" |").rsplit("| ").next().unwrap().trim().to_string()
        };
        assert_eq!(verdict("size"), "NOT met", "{text}");
        assert_eq!(verdict("heap"), "met", "{text}");
        assert_eq!(verdict("boot"), "undecided", "{text}");
    }

    #[test]
    fn own_tables_come_between_the_figures_and_the_goals() {
        let mut report = Report::default();
        report.add("size", OURS, 1000.0, Unit::Bytes);
        report.table("stages:", "| a |\n".into());
        report.goal("size", "≤ 40 KiB", "1 KiB".into(), true);
        let text = report.markdown();
        let (figures, table, goals) =
            (text.find("| size").unwrap(), text.find("stages:").unwrap(), text.find("| goal").unwrap());
        assert!(figures < table && table < goals, "{text}");
    }

    #[test]
    fn values_are_rounded_for_people() {
        assert_eq!(format_value(60912.0, Unit::Bytes), "60912 B (59.5 KiB)");
        assert_eq!(format_value(0.00321, Unit::Seconds), "3.21 ms");
        assert_eq!(format_value(1.2345, Unit::Seconds), "1.234 s");
        assert_eq!(format_value(17.0, Unit::Count), "17");
    }

    #[test]
    fn table_columns_are_padded_to_the_widest_cell() {
        let rows = vec![vec!["a".to_string(), "12345".to_string()]];
        let text = markdown_table(&["name", "n"], &rows, 1);
        assert_eq!(text, "| name |     n |\n| ---- | ----: |\n| a    | 12345 |\n");
    }
}
