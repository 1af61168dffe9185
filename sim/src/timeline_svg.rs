//! A self-contained SVG picture of one run, for a person opening a CI artefact.
//!
//! From the top: a header (scenario, seed, PASS or FAIL, counts); the labels of the
//! scheduled faults; one horizontal lane per (host, instance) pair that ever changed
//! state, sorted by host then instance and labelled "host instance" on the left, filled
//! with one rectangle per state it was in (MASTER green, BACKUP blue, FAULT red, INIT and
//! STOP grey), each lasting until the lane's next state change or the end of the run; a
//! time axis from 0 to the run's duration with second ticks; a legend; and the broken
//! invariants and unmet expectations written out.
//!
//! A crash (a fault line whose action is `crash`) stops every instance of the host at
//! once without state lines of its own, so its lanes show STOP from the crash until their
//! next state change. Faults are dashed vertical markers across their host's lanes (across
//! every lane when the host has none, such as a real server), labelled above the lanes
//! with their text; violations are red markers across the lanes of the hosts they name.
//! Every rectangle and marker carries a `<title>`, which viewers show as a tooltip. The
//! picture uses no scripts, styles or fonts from outside the file.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::junit::escape;
use crate::run::Outcome;
use crate::world::{Kind, TraceLine};

const WIDTH: f64 = 1200.0;
/// Where the time axis starts and ends; the lane labels sit left of it.
const PLOT_X0: f64 = 230.0;
const PLOT_X1: f64 = 1180.0;
const LANE_H: f64 = 22.0;
const HEADER_H: f64 = 54.0;
/// Fault labels are stacked in up to this many rows so they do not overlap.
const LABEL_ROWS: usize = 4;
const LABEL_ROW_H: f64 = 14.0;
/// The band between the fault labels and the lanes holding the violation markers.
const MARK_BAND_H: f64 = 14.0;
const AXIS_H: f64 = 28.0;
const LEGEND_H: f64 = 22.0;
const NOTE_H: f64 = 16.0;
/// An 11 px sans-serif character's average advance, for placing labels.
const CHAR_W: f64 = 6.2;
/// At most this many violations and unmet expectations are written out.
const MAX_NOTES: usize = 40;
/// At most this many labels on the time axis.
const MAX_TICKS: f64 = 20.0;

const MASTER: &str = "#2e9e44";
const BACKUP: &str = "#3b73c8";
const FAULT: &str = "#d43d3d";
/// INIT and STOP.
const IDLE: &str = "#9e9e9e";
/// A state name this picture does not know.
const OTHER: &str = "#d9c27a";
const FAULT_MARK: &str = "#b35c00";
const VIOLATION: &str = "#e00000";
const PASS_TEXT: &str = "#1e7a30";

/// The fill of a state's rectangles.
fn colour(state: &str) -> &'static str {
    match state {
        "MASTER" => MASTER,
        "BACKUP" => BACKUP,
        "FAULT" => FAULT,
        "INIT" | "STOP" => IDLE,
        _ => OTHER,
    }
}

/// One (host, instance) row of the picture.
#[derive(Debug, Clone, PartialEq)]
struct Lane {
    host: String,
    instance: String,
    spans: Vec<Span>,
}

impl Lane {
    fn label(&self) -> String {
        if self.instance.is_empty() {
            self.host.clone()
        } else {
            format!("{} {}", self.host, self.instance)
        }
    }
}

/// A state held from `from` to `to` seconds.
#[derive(Debug, Clone, PartialEq)]
struct Span {
    from: f64,
    to: f64,
    state: String,
}

/// The lanes of a trace, sorted by host then instance, each cut into the states it held
/// until `end`. A crash puts every lane of its host that has started into STOP.
fn lanes(trace: &[TraceLine], end: f64) -> Vec<Lane> {
    let mut changes: BTreeMap<(&str, &str), Vec<(f64, &str)>> = BTreeMap::new();
    for l in trace.iter().filter(|l| l.kind == Kind::State) {
        changes.entry(lane_key(l)).or_default();
    }
    for l in trace {
        match l.kind {
            Kind::State => {
                let to = l.to.as_deref().unwrap_or("?");
                if let Some(c) = changes.get_mut(&lane_key(l)) {
                    c.push((l.t, to));
                }
            }
            Kind::Fault if l.reason.as_deref() == Some("crash") => {
                for ((host, _), c) in changes.iter_mut() {
                    if *host == l.host && !c.is_empty() {
                        c.push((l.t, "STOP"));
                    }
                }
            }
            _ => {}
        }
    }
    changes
        .into_iter()
        .map(|((host, instance), mut c)| {
            c.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut spans: Vec<Span> = Vec::new();
            for (i, &(from, state)) in c.iter().enumerate() {
                let to = c.get(i + 1).map_or(end, |next| next.0.min(end));
                if to <= from {
                    continue;
                }
                match spans.last_mut() {
                    Some(last) if last.state == state && last.to == from => last.to = to,
                    _ => spans.push(Span {
                        from,
                        to,
                        state: state.to_string(),
                    }),
                }
            }
            Lane {
                host: host.to_string(),
                instance: instance.to_string(),
                spans,
            }
        })
        .collect()
}

fn lane_key(l: &TraceLine) -> (&str, &str) {
    (&l.host, l.instance.as_deref().unwrap_or(""))
}

/// The first and last lane of each host that has lanes (they are adjacent: lanes are
/// sorted by host).
fn host_rows(lanes: &[Lane]) -> BTreeMap<&str, (usize, usize)> {
    let mut rows: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, l) in lanes.iter().enumerate() {
        rows.entry(&l.host)
            .and_modify(|r| r.1 = i)
            .or_insert((i, i));
    }
    rows
}

/// The spacing of the axis's labelled ticks: a round number of seconds giving at most
/// [`MAX_TICKS`] labels from 0 to `end`.
fn tick_step(end: f64) -> f64 {
    const STEPS: [f64; 13] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ];
    STEPS
        .into_iter()
        .find(|s| (end / s).floor() + 1.0 <= MAX_TICKS)
        .unwrap_or_else(|| (end / (MAX_TICKS - 1.0) / 3600.0).ceil() * 3600.0)
}

/// `s` on one line and at most `max` characters, ending in `…` when cut.
fn short(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A fault label's place: its row above the lanes, its left edge, and whether it ends
/// at the marker (near the right edge) rather than starting there.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LabelSpot {
    row: usize,
    left: f64,
    ends_at_marker: bool,
}

/// Places labels of the given widths at the given x, each in the first row where it
/// overlaps no other; a label that fits in none of the [`LABEL_ROWS`] rows is left out
/// (its marker's tooltip still carries it).
fn place_labels(labels: &[(f64, f64)]) -> Vec<Option<LabelSpot>> {
    let mut rows: Vec<Vec<(f64, f64)>> = vec![Vec::new(); LABEL_ROWS];
    labels
        .iter()
        .map(|&(x, w)| {
            let ends_at_marker = x + 3.0 + w > WIDTH - 4.0;
            let left = if ends_at_marker { x - 3.0 - w } else { x + 3.0 };
            let (a, b) = (left - 4.0, left + w + 4.0);
            let row = rows
                .iter()
                .position(|taken| taken.iter().all(|&(l, r)| b <= l || a >= r))?;
            rows[row].push((a, b));
            Some(LabelSpot {
                row,
                left,
                ends_at_marker,
            })
        })
        .collect()
}

/// The SVG picture of `o`, with the time axis running from 0 to `duration` seconds
/// (events after it are drawn at its end).
pub fn render(o: &Outcome, duration: f64) -> String {
    let end = if duration.is_finite() && duration > 0.0 {
        duration
    } else {
        o.trace
            .iter()
            .map(|l| l.t)
            .chain(o.violations.iter().map(|v| v.t))
            .filter(|t| t.is_finite())
            .fold(1.0, f64::max)
    };
    let x = |t: f64| {
        let t = if t.is_finite() {
            t.clamp(0.0, end)
        } else {
            0.0
        };
        PLOT_X0 + t / end * (PLOT_X1 - PLOT_X0)
    };
    let lanes = lanes(&o.trace, end);
    let rows = host_rows(&lanes);
    let faults: Vec<&TraceLine> = o.trace.iter().filter(|l| l.kind == Kind::Fault).collect();
    let fault_texts: Vec<String> = faults.iter().map(|f| short(&f.detail, 28)).collect();
    let spots = place_labels(
        &faults
            .iter()
            .zip(&fault_texts)
            .map(|(f, text)| (x(f.t), text.chars().count() as f64 * CHAR_W))
            .collect::<Vec<_>>(),
    );
    let label_rows = spots.iter().flatten().map(|s| s.row + 1).max().unwrap_or(0);

    let labels_top = HEADER_H;
    let lanes_top = labels_top + label_rows as f64 * LABEL_ROW_H + MARK_BAND_H;
    let lanes_bottom = lanes_top + lanes.len().max(1) as f64 * LANE_H;
    let legend_top = lanes_bottom + AXIS_H;
    let notes_top = legend_top + LEGEND_H + 8.0;
    let notes = notes(o);
    let height = notes_top + notes.len() as f64 * NOTE_H + 10.0;
    // The vertical extent of the lanes from `first` to `last`.
    let lane_ys = |(first, last): (usize, usize)| {
        (
            lanes_top + first as f64 * LANE_H,
            lanes_top + (last + 1) as f64 * LANE_H,
        )
    };
    let all_lanes = (lanes_top, lanes_bottom);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        s,
        "<title>keepalived-sim: {} seed {}</title>",
        escape(&o.scenario),
        o.seed
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");

    // Header.
    let (verdict, verdict_fill) = if o.ok() {
        ("PASS", PASS_TEXT)
    } else {
        ("FAIL", VIOLATION)
    };
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{} \u{2014} seed {} \u{2014} \
         <tspan fill=\"{verdict_fill}\">{verdict}</tspan></text>",
        escape(&o.scenario),
        o.seed
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"42\" fill=\"#555555\">{} s simulated \u{b7} {} \u{b7} {} \u{b7} {} \u{b7} {}</text>",
        trim_float(end),
        count(lanes.len(), "lane", "lanes"),
        count(faults.len(), "fault or event", "faults and events"),
        count(o.violations.len(), "violation", "violations"),
        count(o.failed.len(), "expectation not met", "expectations not met")
    );

    // Lane backgrounds, grid and labels.
    let step = tick_step(end);
    let ticks: Vec<f64> = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= end + 1e-9)
        .collect();
    for (i, lane) in lanes.iter().enumerate() {
        let y = lanes_top + i as f64 * LANE_H;
        if i % 2 == 0 {
            let _ = writeln!(
                s,
                "<rect x=\"{PLOT_X0}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{LANE_H}\" fill=\"#f3f3f3\"/>",
                PLOT_X1 - PLOT_X0
            );
        }
        let label = lane.label();
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}<title>{}</title></text>",
            PLOT_X0 - 8.0,
            y + 15.0,
            escape(&short(&label, 32)),
            escape(&label)
        );
    }
    if lanes.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#777777\">no VRRP instance changed state</text>",
            (PLOT_X0 + PLOT_X1) / 2.0,
            lanes_top + 15.0
        );
    }
    for t in &ticks {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{lanes_top:.1}\" y2=\"{lanes_bottom:.1}\" stroke=\"#dddddd\"/>",
            x(*t)
        );
    }

    // States.
    for (i, lane) in lanes.iter().enumerate() {
        let y = lanes_top + i as f64 * LANE_H + 3.0;
        let label = lane.label();
        for span in &lane.spans {
            let (x0, x1) = (x(span.from), x(span.to));
            let _ = writeln!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{}: {} {:.3}\u{2013}{:.3} s</title></rect>",
                (x1 - x0).max(0.5),
                LANE_H - 6.0,
                colour(&span.state),
                escape(&label),
                escape(&span.state),
                span.from,
                span.to
            );
        }
    }
    // Lines between hosts.
    for &(first, _) in rows.values().skip(1) {
        let y = lanes_top + first as f64 * LANE_H;
        let _ = writeln!(
            s,
            "<line x1=\"10\" x2=\"{PLOT_X1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#bbbbbb\"/>"
        );
    }

    // Axis.
    let _ = writeln!(
        s,
        "<line x1=\"{PLOT_X0}\" x2=\"{PLOT_X1}\" y1=\"{lanes_bottom:.1}\" y2=\"{lanes_bottom:.1}\" stroke=\"#333333\"/>"
    );
    for t in &ticks {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#333333\"/>\
             <text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\" font-size=\"11\">{4} s</text>",
            x(*t),
            lanes_bottom,
            lanes_bottom + 5.0,
            lanes_bottom + 18.0,
            trim_float(*t)
        );
    }

    // Faults.
    for ((f, text), spot) in faults.iter().zip(&fault_texts).zip(&spots) {
        let fx = x(f.t);
        let (y0, y1) = rows.get(f.host.as_str()).map_or(all_lanes, |&r| lane_ys(r));
        let _ = write!(
            s,
            "<g><title>{:.3} s {}: {}</title>\
             <line x1=\"{fx:.1}\" x2=\"{fx:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"#ffffff\" \
             stroke-width=\"3.5\" stroke-opacity=\"0.8\"/>\
             <line x1=\"{fx:.1}\" x2=\"{fx:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"{FAULT_MARK}\" \
             stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>",
            f.t,
            escape(&f.host),
            escape(&f.detail)
        );
        if let Some(spot) = spot {
            let baseline = labels_top + (spot.row + 1) as f64 * LABEL_ROW_H - 3.0;
            let _ = write!(
                s,
                "<line x1=\"{fx:.1}\" x2=\"{fx:.1}\" y1=\"{:.1}\" y2=\"{y0:.1}\" stroke=\"{FAULT_MARK}\" \
                 stroke-width=\"0.75\" stroke-dasharray=\"1 2\"/>\
                 <text x=\"{:.1}\" y=\"{baseline:.1}\" font-size=\"11\" fill=\"{FAULT_MARK}\">{}</text>",
                baseline - 9.0,
                spot.left,
                escape(text)
            );
        }
        s.push_str("</g>\n");
    }

    // Violations.
    for v in &o.violations {
        let vx = x(v.t);
        let mut extents: Vec<(f64, f64)> = v
            .hosts
            .iter()
            .filter_map(|h| rows.get(h.as_str()))
            .map(|&r| lane_ys(r))
            .collect();
        if extents.is_empty() {
            extents.push(all_lanes);
        }
        let top = lanes_top - MARK_BAND_H + 2.0;
        let _ = write!(
            s,
            "<g><title>{:.3} s [{}]: {} ({})</title>\
             <path d=\"M{:.1} {top:.1} L{:.1} {top:.1} L{vx:.1} {:.1} Z\" fill=\"{VIOLATION}\"/>",
            v.t,
            escape(&v.hosts.join(", ")),
            escape(v.invariant),
            escape(&v.detail),
            vx - 5.0,
            vx + 5.0,
            top + 9.0
        );
        for (y0, y1) in extents {
            let _ = write!(
                s,
                "<line x1=\"{vx:.1}\" x2=\"{vx:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"#ffffff\" stroke-width=\"4\" stroke-opacity=\"0.8\"/>\
                 <line x1=\"{vx:.1}\" x2=\"{vx:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"{VIOLATION}\" stroke-width=\"2\"/>"
            );
        }
        s.push_str("</g>\n");
    }

    legend(&mut s, legend_top);

    for (i, (indent, text, fill)) in notes.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{fill}\">{}<title>{}</title></text>",
            10.0 + indent * 16.0,
            notes_top + i as f64 * NOTE_H + 12.0,
            escape(&short(text, 180)),
            escape(text)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The key of colours and markers.
fn legend(s: &mut String, top: f64) {
    let mut lx = 10.0;
    let y = top + 4.0;
    for (name, fill) in [
        ("MASTER", MASTER),
        ("BACKUP", BACKUP),
        ("FAULT", FAULT),
        ("INIT / STOP", IDLE),
    ] {
        let _ = writeln!(
            s,
            "<rect x=\"{lx:.1}\" y=\"{y:.1}\" width=\"12\" height=\"12\" fill=\"{fill}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{name}</text>",
            lx + 16.0,
            y + 10.5
        );
        lx += 16.0 + name.len() as f64 * 7.5 + 18.0;
    }
    for (name, stroke, dash, width) in [
        (
            "fault or event",
            FAULT_MARK,
            " stroke-dasharray=\"4 3\"",
            1.5,
        ),
        ("invariant violated", VIOLATION, "", 2.0),
    ] {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>\
             <text x=\"{3:.1}\" y=\"{4:.1}\">{name}</text>",
            lx + 4.0,
            y - 1.0,
            y + 13.0,
            lx + 12.0,
            y + 10.5
        );
        lx += 12.0 + name.len() as f64 * 7.0 + 18.0;
    }
}

/// The lines written under the legend: the violations, then the unmet expectations, at
/// most [`MAX_NOTES`] of them, each with its indent level and colour.
fn notes(o: &Outcome) -> Vec<(f64, String, &'static str)> {
    let mut lines: Vec<(f64, String, &'static str)> = Vec::new();
    if !o.violations.is_empty() {
        lines.push((0.0, "Invariants violated:".to_string(), "#000000"));
        lines.extend(o.violations.iter().map(|v| (1.0, v.to_string(), VIOLATION)));
    }
    if !o.failed.is_empty() {
        lines.push((0.0, "Expectations not met:".to_string(), "#000000"));
        lines.extend(o.failed.iter().map(|f| (1.0, f.clone(), VIOLATION)));
    }
    if lines.len() > MAX_NOTES {
        let more = lines.len() - (MAX_NOTES - 1);
        lines.truncate(MAX_NOTES - 1);
        lines.push((1.0, format!("… and {more} more lines"), "#000000"));
    }
    lines
}

/// `n` and the noun that goes with it.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Seconds without a trailing `.0` when whole.
fn trim_float(t: f64) -> String {
    if t.fract() == 0.0 && t.abs() < 1e15 {
        format!("{t:.0}")
    } else {
        format!("{t}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::tests::well_formed;
    use crate::world::Violation;

    fn state(t: f64, host: &str, instance: &str, from: &str, to: &str) -> TraceLine {
        TraceLine {
            t,
            host: host.to_string(),
            kind: Kind::State,
            instance: Some(instance.to_string()),
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            reason: None,
            detail: format!("{instance} {from} -> {to}"),
        }
    }

    fn fault(t: f64, host: &str, action: &str, detail: &str) -> TraceLine {
        TraceLine {
            t,
            host: host.to_string(),
            kind: Kind::Fault,
            instance: None,
            from: None,
            to: None,
            reason: Some(action.to_string()),
            detail: detail.to_string(),
        }
    }

    /// Two routers: r1 is master until it crashes at 10 s and comes back at 12 s; the
    /// other, with a hostile name, takes over.
    fn outcome() -> Outcome {
        let odd = "r<&>2";
        Outcome {
            scenario: "demo \"two\"".to_string(),
            seed: 7,
            trace: vec![
                state(0.0, "r1", "VI_1", "INIT", "BACKUP"),
                state(0.0, odd, "VI_1", "INIT", "BACKUP"),
                state(3.5, "r1", "VI_1", "BACKUP", "MASTER"),
                fault(10.0, "r1", "crash", "CRASH"),
                state(13.2, odd, "VI_1", "BACKUP", "MASTER"),
                state(15.0, "r1", "VI_1", "INIT", "BACKUP"),
                fault(20.0, "web", "refuse", "REFUSE"),
            ],
            violations: vec![Violation {
                t: 12.0,
                invariant: "failover within the master-down interval",
                hosts: vec![odd.to_string()],
                detail: "no master for 2.0 s".to_string(),
            }],
            failed: vec!["r<&>2 is MASTER at 11 s".to_string()],
            failovers: vec![],
        }
    }

    #[test]
    fn draws_both_lanes_states_faults_and_violations() {
        let svg = render(&outcome(), 30.0);
        well_formed(&svg).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\""));
        assert!(svg.contains("demo &quot;two&quot; \u{2014} seed 7"));
        assert!(svg.contains(">FAIL</tspan>"));
        assert!(svg.contains(
            "30 s simulated \u{b7} 2 lanes \u{b7} 2 faults and events \u{b7} 1 violation \u{b7} 1 expectation not met<"
        ));
        // Both lanes, sorted by host ("r1" < "r<&>2"), the odd name escaped.
        let r1 = svg.find(">r1 VI_1<title>").unwrap();
        let other = svg.find(">r&lt;&amp;&gt;2 VI_1<title>").unwrap();
        assert!(r1 < other);
        assert!(!svg.contains("r<&>2"));
        // The MASTER rectangle before the crash, then STOP until r1's next state.
        assert!(svg.contains(&format!(
            "fill=\"{MASTER}\"><title>r1 VI_1: MASTER 3.500\u{2013}10.000 s</title>"
        )));
        assert!(svg.contains(&format!(
            "fill=\"{IDLE}\"><title>r1 VI_1: STOP 10.000\u{2013}15.000 s</title>"
        )));
        assert!(svg.contains(&format!(
            "fill=\"{BACKUP}\"><title>r1 VI_1: BACKUP 15.000\u{2013}30.000 s</title>"
        )));
        // The crash's marker with its label and tooltip.
        assert!(svg.contains("<title>10.000 s r1: CRASH</title>"));
        assert!(svg.contains(&format!("fill=\"{FAULT_MARK}\">CRASH</text>")));
        assert!(svg.contains(">REFUSE</text>"));
        // The violation's marker and its note.
        assert!(svg.contains(
            "<title>12.000 s [r&lt;&amp;&gt;2]: failover within the master-down interval (no master for 2.0 s)</title>"
        ));
        assert!(svg.contains(&format!("fill=\"{VIOLATION}\"/>")));
        assert!(svg.contains(">r&lt;&amp;&gt;2 is MASTER at 11 s<title>"));
        // The legend and the axis.
        assert!(svg.contains(">INIT / STOP</text>"));
        assert!(svg.contains(">30 s</text>"));
        assert!(!svg.contains(">35 s</text>"));
    }

    #[test]
    fn a_passing_run_says_pass() {
        let o = Outcome {
            violations: vec![],
            failed: vec![],
            ..outcome()
        };
        let svg = render(&o, 30.0);
        well_formed(&svg).unwrap();
        assert!(svg.contains(&format!("<tspan fill=\"{PASS_TEXT}\">PASS</tspan>")));
        assert!(!svg.contains("Invariants violated"));
    }

    #[test]
    fn a_fault_spans_its_hosts_lanes_or_every_lane() {
        let mut o = outcome();
        o.trace
            .insert(1, state(0.0, "r1", "VI_2", "INIT", "BACKUP"));
        let svg = render(&o, 30.0);
        let lanes = lanes(&o.trace, 30.0);
        assert_eq!(
            lanes.iter().map(Lane::label).collect::<Vec<_>>(),
            ["r1 VI_1", "r1 VI_2", "r<&>2 VI_1"]
        );
        let rows = host_rows(&lanes);
        assert_eq!(rows["r1"], (0, 1));
        assert_eq!(rows["r<&>2"], (2, 2));
        // With one label row, the lanes start at 54 + 14 + 14 = 82: r1's crash crosses
        // its two lanes, the real server's refusal all three.
        assert!(svg.contains("y1=\"82.0\" y2=\"126.0\" stroke=\"#b35c00\" stroke-width=\"1.5\""));
        assert!(svg.contains("y1=\"82.0\" y2=\"148.0\" stroke=\"#b35c00\" stroke-width=\"1.5\""));
        // A crash stops every started lane of the host.
        assert_eq!(
            lanes[1].spans,
            [
                Span {
                    from: 0.0,
                    to: 10.0,
                    state: "BACKUP".into()
                },
                Span {
                    from: 10.0,
                    to: 30.0,
                    state: "STOP".into()
                }
            ]
        );
    }

    #[test]
    fn instants_and_states_after_the_end_draw_nothing() {
        // A MASTER held for no time leaves BACKUP on both sides, drawn as one rectangle;
        // the change after the end is not drawn.
        let trace = vec![
            state(0.0, "a", "V", "INIT", "BACKUP"),
            state(5.0, "a", "V", "BACKUP", "MASTER"),
            state(5.0, "a", "V", "MASTER", "BACKUP"),
            state(12.0, "a", "V", "BACKUP", "MASTER"),
        ];
        let l = lanes(&trace, 10.0);
        let got: Vec<(f64, f64, &str)> = l[0]
            .spans
            .iter()
            .map(|s| (s.from, s.to, s.state.as_str()))
            .collect();
        assert_eq!(got, [(0.0, 10.0, "BACKUP")]);
    }

    #[test]
    fn ticks_stay_at_or_under_twenty_labels() {
        assert_eq!(tick_step(5.0), 1.0);
        assert_eq!(tick_step(19.0), 1.0);
        assert_eq!(tick_step(20.0), 2.0);
        assert_eq!(tick_step(60.0), 5.0);
        assert_eq!(tick_step(7200.0), 600.0);
        assert_eq!(tick_step(200_000.0), 3.0 * 3600.0);
        for end in [1.0, 7.5, 33.0, 99.0, 600.0, 4000.0, 123_456.0] {
            assert!((end / tick_step(end)).floor() + 1.0 <= MAX_TICKS, "{end}");
        }
    }

    #[test]
    fn crowded_labels_take_further_rows_then_give_up() {
        let spots = place_labels(&[(300.0, 60.0); 6]);
        let rows: Vec<Option<usize>> = spots.iter().map(|s| s.map(|s| s.row)).collect();
        assert_eq!(rows, [Some(0), Some(1), Some(2), Some(3), None, None]);
        let right = place_labels(&[(1170.0, 60.0)])[0].unwrap();
        assert!(right.ends_at_marker);
        assert_eq!(right.left, 1170.0 - 3.0 - 60.0);
    }

    #[test]
    fn an_empty_run_still_draws() {
        let o = Outcome {
            scenario: "empty".into(),
            seed: 1,
            trace: vec![],
            violations: vec![],
            failed: vec![],
            failovers: vec![],
        };
        let svg = render(&o, 0.0);
        well_formed(&svg).unwrap();
        assert!(svg.contains("no VRRP instance changed state"));
        assert_eq!(short("a\nb", 10), "a b");
        assert_eq!(short("abcdef", 4), "abc…");
    }
}
