//! The bench's statistics: the median, which a few slow outliers on a noisy machine do not move,
//! and a bootstrap confidence interval on a ratio of medians of paired samples (the boots of two
//! initramfs images taking turns, so a slow spell of the machine weighs on both sides of a round).

/// The median of `samples` (the mean of the middle two for an even count); `None` when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(middle).copied(),
        _ => Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0),
    }
}

/// How many resamples the bootstrap draws: enough for stable 2.5 % and 97.5 % percentiles.
const RESAMPLES: usize = 4000;
/// A fixed seed: the same boots give the same interval on every run.
const SEED: u64 = 0x5eed_b007_5ea5_0001;

/// `median(a) / median(b)` with its 95 % confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatioInterval {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

/// The ratio of the medians of `a` and `b`, paired by index (round `i` gave `a[i]` and `b[i]`),
/// and a 95 % percentile-bootstrap interval: rounds are drawn with replacement, whole (both
/// sides of a round together), and the ratio of medians taken each time. `None` with fewer than
/// two rounds (no spread to resample), a length mismatch or a zero median.
pub fn paired_ratio_interval(a: &[f64], b: &[f64]) -> Option<RatioInterval> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let ratio = ratio_of_medians(a, b)?;
    let mut random = SplitMix64(SEED);
    let (mut drawn_a, mut drawn_b) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    let mut ratios = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for (slot_a, slot_b) in drawn_a.iter_mut().zip(&mut drawn_b) {
            let round = random.below(a.len());
            (*slot_a, *slot_b) = (a[round], b[round]);
        }
        if let Some(r) = ratio_of_medians(&drawn_a, &drawn_b) {
            ratios.push(r);
        }
    }
    ratios.sort_by(f64::total_cmp);
    Some(RatioInterval { ratio, low: percentile(&ratios, 0.025)?, high: percentile(&ratios, 0.975)? })
}

fn ratio_of_medians(a: &[f64], b: &[f64]) -> Option<f64> {
    let (a, b) = (median(a)?, median(b)?);
    (b > 0.0).then(|| a / b)
}

/// The value at fraction `p` of the sorted `values` (nearest rank).
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1).min(sorted.len().checked_sub(1)?)).copied()
}

/// How a ratio's interval judges "at most `bound`": only an interval wholly on one side decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Judgement {
    Met,
    NotMet,
    /// The interval straddles the bound; about this many rounds in all would narrow it enough,
    /// if the ratio stayed where it is (the interval shrinks as one over the root of the rounds).
    Undecided {
        rounds_needed: Option<usize>,
    },
}

/// Judges `interval` (from `rounds` rounds) against `ratio ≤ bound`.
pub fn judge_at_most(interval: &RatioInterval, bound: f64, rounds: usize) -> Judgement {
    if interval.high <= bound {
        return Judgement::Met;
    }
    if interval.low > bound {
        return Judgement::NotMet;
    }
    // The half of the interval that crosses the bound must shrink to the ratio's distance from it.
    let (distance, half_width) = if interval.ratio <= bound {
        (bound - interval.ratio, interval.high - interval.ratio)
    } else {
        (interval.ratio - bound, interval.ratio - interval.low)
    };
    let rounds_needed = (distance > 1e-9 && half_width > 0.0)
        .then(|| (rounds as f64 * (half_width / distance).powi(2)).ceil() as usize);
    Judgement::Undecided { rounds_needed }
}

/// A small, seeded pseudo-random generator (SplitMix64): enough for resampling, no crate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0); the modulo bias is far below what resampling could show.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_interval_holds_the_ratio_and_narrows_with_more_rounds() {
        // b alternates 1.0 and 1.2; a is b times 1.1 plus a wobble.
        let rounds = |n: usize| -> (Vec<f64>, Vec<f64>) {
            let b: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 1.0 } else { 1.2 }).collect();
            let a =
                b.iter().enumerate().map(|(i, x)| x * 1.1 + if i % 3 == 0 { 0.05 } else { -0.02 }).collect();
            (a, b)
        };
        let (a, b) = rounds(10);
        let few = paired_ratio_interval(&a, &b).unwrap();
        assert!(few.low <= few.ratio && few.ratio <= few.high, "{few:?}");
        let (a, b) = rounds(200);
        let many = paired_ratio_interval(&a, &b).unwrap();
        assert!(many.high - many.low < few.high - few.low, "{few:?} {many:?}");
        assert!((1.0..1.2).contains(&many.ratio), "{many:?}");
    }

    #[test]
    fn the_interval_is_the_same_on_every_run() {
        let (a, b) = ([1.0, 2.0, 3.0, 4.0, 5.0], [1.1, 1.9, 3.3, 4.2, 4.8]);
        assert_eq!(paired_ratio_interval(&a, &b), paired_ratio_interval(&a, &b));
    }

    #[test]
    fn one_round_or_unpaired_samples_give_no_interval() {
        assert_eq!(paired_ratio_interval(&[1.0], &[1.0]), None);
        assert_eq!(paired_ratio_interval(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(paired_ratio_interval(&[1.0, 2.0], &[0.0, 0.0]), None);
    }

    #[test]
    fn only_an_interval_wholly_on_one_side_of_the_bound_decides() {
        let interval = |ratio, low, high| RatioInterval { ratio, low, high };
        assert_eq!(judge_at_most(&interval(1.0, 0.95, 1.04), 1.05, 9), Judgement::Met);
        assert_eq!(judge_at_most(&interval(1.2, 1.06, 1.3), 1.05, 9), Judgement::NotMet);
        // 1.0 above the ratio must shrink to 0.5: four times the rounds.
        assert_eq!(
            judge_at_most(&interval(1.0, 0.5, 2.0), 1.5, 9),
            Judgement::Undecided { rounds_needed: Some(36) }
        );
        assert_eq!(
            judge_at_most(&interval(1.05, 1.0, 1.1), 1.05, 9),
            Judgement::Undecided { rounds_needed: None }
        );
    }
}
