//! The `scale` figures against the instance count as an SVG image: CPU and PSS of both
//! daemons, master and backup, one panel each, so README can show how the cost grows.

use std::fmt::Write as _;

use serde_json::Value;

const PANEL_W: f64 = 380.0;
const PANEL_H: f64 = 260.0;
const MARGIN: f64 = 50.0;

/// (label, daemon is ours, JSON key, colour, dashed)
const SERIES: [(&str, bool, &str, &str, bool); 4] = [
    ("keepalived-rs master", true, "master", "#1f77b4", false),
    ("keepalived-rs backup", true, "backup", "#1f77b4", true),
    ("keepalived master", false, "master", "#d62728", false),
    ("keepalived backup", false, "backup", "#d62728", true),
];

/// Two panels, CPU (% of a core) and PSS (MiB), x the instance count, for `by_size`'s
/// (instances, ours, keepalived's) figures.
pub fn growth(by_size: &[(usize, Value, Value)]) -> String {
    let width = 2.0 * (PANEL_W + MARGIN) + MARGIN;
    let height = PANEL_H + 2.0 * MARGIN + 40.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let panels = [
        ("CPU, % of a core", "cpu_percent_", 1.0),
        ("PSS, MiB (parent + VRRP child)", "pss_kib_", 1.0 / 1024.0),
    ];
    for (p, (title, prefix, scale)) in panels.iter().enumerate() {
        let x0 = MARGIN + p as f64 * (PANEL_W + MARGIN);
        let lines: Vec<Vec<(f64, f64)>> = SERIES
            .iter()
            .map(|(_, ours, role, _, _)| {
                by_size
                    .iter()
                    .filter_map(|(n, a, b)| {
                        let v = if *ours { a } else { b };
                        let y = v[format!("{prefix}{role}")].as_f64()?;
                        Some((*n as f64, y * scale))
                    })
                    .collect()
            })
            .collect();
        panel(&mut svg, x0, MARGIN, title, &lines);
    }
    for (i, (label, _, _, colour, dashed)) in SERIES.iter().enumerate() {
        let x = MARGIN + i as f64 * 190.0;
        let y = height - 20.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"{}/>\
             <text x=\"{}\" y=\"{}\">{label}</text>",
            x + 24.0,
            dash(*dashed),
            x + 30.0,
            y + 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn dash(dashed: bool) -> &'static str {
    if dashed {
        " stroke-dasharray=\"5,3\""
    } else {
        ""
    }
}

/// One panel at (`x0`, `y0`): axes from 0 to the largest x and y, and `lines` (in
/// [`SERIES`] order) as polylines with a dot at each point.
fn panel(svg: &mut String, x0: f64, y0: f64, title: &str, lines: &[Vec<(f64, f64)>]) {
    let points = lines.iter().flatten();
    let xmax = points.clone().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let ymax = nice(points.map(|p| p.1).fold(0.0, f64::max));
    let at = |(x, y): (f64, f64)| (x0 + x / xmax * PANEL_W, y0 + PANEL_H - y / ymax * PANEL_H);
    let _ = writeln!(
        svg,
        "<text x=\"{x0}\" y=\"{}\" font-size=\"13\">{title}</text>\n\
         <rect x=\"{x0}\" y=\"{y0}\" width=\"{PANEL_W}\" height=\"{PANEL_H}\" fill=\"none\" stroke=\"#888\"/>",
        y0 - 10.0
    );
    for i in 0..=4 {
        let y = ymax * f64::from(i) / 4.0;
        let (_, py) = at((0.0, y));
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{py}\" x2=\"{}\" y2=\"{py}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            x0 + PANEL_W,
            x0 - 4.0,
            py + 4.0,
            short(y)
        );
    }
    let xs: Vec<f64> = {
        let mut v: Vec<f64> = lines.iter().flatten().map(|p| p.0).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    for x in xs {
        let (px, _) = at((x, 0.0));
        let _ = writeln!(
            svg,
            "<text x=\"{px}\" y=\"{}\" text-anchor=\"middle\">{x}</text>",
            y0 + PANEL_H + 14.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">instances</text>",
        x0 + PANEL_W / 2.0,
        y0 + PANEL_H + 28.0
    );
    for (line, (_, _, _, colour, dashed)) in lines.iter().zip(SERIES) {
        let pts: Vec<String> = line
            .iter()
            .map(|&p| {
                let (x, y) = at(p);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{}/>",
            pts.join(" "),
            dash(dashed)
        );
        for p in line {
            let (x, y) = at(*p);
            let _ = writeln!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{colour}\"/>"
            );
        }
    }
}

/// The smallest of 1, 2 or 5 × 10^k at or above `v` (1 for nothing).
fn nice(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let base = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * base)
}

/// An axis label: no more digits than it needs.
fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn axes_end_on_a_round_number_above_the_largest_figure() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(3.2), 5.0);
        assert_eq!(nice(12.0), 20.0);
        assert_eq!(nice(0.41), 0.5);
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(10.0), "10");
    }

    #[test]
    fn every_series_is_drawn_at_each_size() {
        let fig = |c: f64| json!({"cpu_percent_master": c, "cpu_percent_backup": c, "pss_kib_master": 4096.0, "pss_kib_backup": 4096.0});
        let svg = growth(&[(250, fig(0.1), fig(0.2)), (1000, fig(0.4), fig(0.8))]);
        assert_eq!(svg.matches("<polyline").count(), 8, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 16, "{svg}");
        assert!(svg.contains(">keepalived backup<"), "{svg}");
    }
}
