//! Hand-written SVG charts: the geometry is small pure functions (tested below), the drawing only
//! strings them together. No fonts, no C dependencies, nothing fetched.
//!
//! Every text that reaches a chart (titles in `<title>` tooltips, `data-` attributes, labels) goes
//! through [`super::html::esc`] before it is written here; this module only writes numbers and
//! escaped strings.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Timelike, Utc};

/// The plotting area inside an SVG, in SVG units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Frame {
    pub fn right(&self) -> f64 {
        self.left + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }
}

/// The x of a time in `[from, to]`; a period of zero length puts everything at the right edge.
pub fn time_x(f: &Frame, from: DateTime<Utc>, to: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    let span = (to - from).num_seconds();
    if span <= 0 {
        return f.right();
    }
    let share = ((t - from).num_seconds() as f64 / span as f64).clamp(0.0, 1.0);
    f.left + share * f.width
}

/// The y of a rank position in a chart of `rows` rows: #1 on the top edge, #`rows` on the bottom
/// edge, evenly spaced (a one-row chart puts #1 in the middle).
pub fn rank_y(f: &Frame, rows: u8, position: u8) -> f64 {
    if rows <= 1 {
        return f.top + f.height / 2.0;
    }
    let p = f64::from(position.clamp(1, rows));
    f.top + (p - 1.0) * f.height / f64::from(rows - 1)
}

/// The y of a value between `min` (bottom edge) and `max` (top edge); a flat series sits in the middle.
pub fn value_y(f: &Frame, min: f64, max: f64, v: f64) -> f64 {
    if !(max - min).is_finite() || max - min <= f64::EPSILON {
        return f.top + f.height / 2.0;
    }
    let share = ((v - min) / (max - min)).clamp(0.0, 1.0);
    f.bottom() - share * f.height
}

/// Splits a series into runs of consecutive present points: a `None` (the product was out of the
/// list in that snapshot) ends a run, so the line shows a gap there.
pub fn segments(points: &[Option<(f64, f64)>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for p in points {
        match p {
            Some(xy) => run.push(*xy),
            None if !run.is_empty() => out.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// The points of a rank series (positions aligned with `times`) in a frame: `None` where the product
/// was out of the list.
pub fn rank_points(
    f: &Frame,
    rows: u8,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    times: &[DateTime<Utc>],
    positions: &[Option<u8>],
) -> Vec<Option<(f64, f64)>> {
    times.iter().zip(positions).map(|(t, p)| p.map(|p| (time_x(f, from, to, *t), rank_y(f, rows, p)))).collect()
}

fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// SVG path data for runs of points: one `M` per run, `L` between its points. A run of one point is
/// drawn as a zero-length segment, which a round line cap shows as a dot.
pub fn path_d(runs: &[Vec<(f64, f64)>]) -> String {
    let mut d = String::new();
    for run in runs {
        for (i, (x, y)) in run.iter().enumerate() {
            if !d.is_empty() {
                d.push(' ');
            }
            let _ = write!(d, "{}{},{}", if i == 0 { 'M' } else { 'L' }, num(*x), num(*y));
        }
        if let [(x, y)] = run.as_slice() {
            let _ = write!(d, " L{},{}", num(*x), num(*y));
        }
    }
    d
}

/// Tick times for a period: midnights (UTC) for periods of two days or more, every 6 hours below.
pub fn time_ticks(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    if to <= from {
        return Vec::new();
    }
    let step_h: i64 = if to - from >= Duration::days(2) { 24 } else { 6 };
    let step = Duration::hours(step_h);
    let start = from
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .map(|t| t - Duration::hours(i64::from(t.hour()) % step_h))
        .unwrap_or(from);
    let mut t = if start < from { start + step } else { start };
    let mut out = Vec::new();
    while t <= to && out.len() < 64 {
        out.push(t);
        t += step;
    }
    out
}

/// The line colors of highlighted products (the movers), in order; everything else is grey.
pub const HIGHLIGHT: [&str; 6] = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
pub const MUTED: &str = "#c3c8d0";

/// One line of a bump chart, with its texts already escaped.
#[derive(Debug, Clone)]
pub struct BumpLine<'a> {
    /// Escaped product id (for `data-product`).
    pub id: &'a str,
    /// Escaped, shortened title for the label.
    pub label: &'a str,
    /// Escaped full title for the tooltip.
    pub tooltip: &'a str,
    pub positions: &'a [Option<u8>],
    pub current: u8,
    /// Index into [`HIGHLIGHT`] for a mover.
    pub highlight: Option<usize>,
}

/// Options shared by the charts' time axes.
#[derive(Debug, Clone, Copy)]
pub struct Axis<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// chrono format of the tick labels.
    pub tick_format: &'a str,
}

fn time_axis(svg: &mut String, f: &Frame, axis: &Axis<'_>) {
    for t in time_ticks(axis.from, axis.to) {
        let x = num(time_x(f, axis.from, axis.to, t));
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{x}" y1="{}" x2="{x}" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
            num(f.top - 8.0),
            num(f.bottom() + 8.0),
            num(f.bottom() + 24.0),
            t.format(axis.tick_format)
        );
    }
}

/// The bump chart: one `<path class="bump-line">` per product (gaps where it was out of the list),
/// #1 at the top, movers in color and drawn last, a label with the current position on the right.
pub fn bump_chart(times: &[DateTime<Utc>], lines: &[BumpLine<'_>], axis: &Axis<'_>, aria: &str) -> String {
    let rows =
        lines.iter().flat_map(|l| l.positions.iter().flatten().copied().chain([l.current])).max().unwrap_or(1).max(2);
    let row_h = 26.0;
    let f = Frame { left: 44.0, top: 20.0, width: 640.0, height: f64::from(rows - 1) * row_h };
    let (w, h) = (f.right() + 300.0, f.bottom() + 40.0);
    let mut svg = format!(
        r#"<svg class="chart bump" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{aria}">"#,
        num(w),
        num(h),
        num(w),
        num(h)
    );
    for p in 1..=rows {
        let y = num(rank_y(&f, rows, p));
        let _ = write!(
            svg,
            r#"<line class="row" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="rank" x="{}" y="{y}" dy="4" text-anchor="end">#{p}</text>"#,
            num(f.left),
            num(f.right()),
            num(f.left - 10.0)
        );
    }
    time_axis(&mut svg, &f, axis);
    // Muted lines first, so the highlighted movers are drawn on top.
    let mut order: Vec<&BumpLine<'_>> = lines.iter().collect();
    order.sort_by_key(|l| (l.highlight.is_some(), std::cmp::Reverse(l.highlight)));
    for l in order {
        let runs = segments(&rank_points(&f, rows, axis.from, axis.to, times, l.positions));
        let (color, width, class) = match l.highlight {
            Some(i) => (HIGHLIGHT[i % HIGHLIGHT.len()], 3.5, "bump-line mover"),
            None => (MUTED, 2.0, "bump-line"),
        };
        let _ = write!(
            svg,
            r#"<path class="{class}" data-product="{}" d="{}" fill="none" stroke="{color}" stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"><title>{}</title></path>"#,
            l.id,
            path_d(&runs),
            l.tooltip
        );
    }
    for l in lines {
        let y = num(rank_y(&f, rows, l.current));
        let color = l.highlight.map_or("#4a4f57", |i| HIGHLIGHT[i % HIGHLIGHT.len()]);
        let weight = if l.highlight.is_some() { "bold" } else { "normal" };
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{y}" dy="4" fill="{color}" font-weight="{weight}">#{} {}<title>{}</title></text>"#,
            num(f.right() + 10.0),
            l.current,
            l.label,
            l.tooltip
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A rank sparkline (#1 at the top, `rows` rows, gaps where out of the list) with a dot at the end.
pub fn sparkline(times: &[DateTime<Utc>], positions: &[Option<u8>], rows: u8, color: &str) -> String {
    let (w, h) = (160.0, 36.0);
    let f = Frame { left: 3.0, top: 3.0, width: w - 6.0, height: h - 6.0 };
    let (from, to) = match (times.first(), times.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => return String::new(),
    };
    let rows = positions.iter().flatten().copied().max().unwrap_or(1).max(rows);
    let points = rank_points(&f, rows, from, to, times, positions);
    let mut svg = format!(
        r#"<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><path d="{}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>"#,
        path_d(&segments(&points))
    );
    if let Some(Some((x, y))) = points.last() {
        let _ = write!(svg, r#"<circle cx="{}" cy="{}" r="3" fill="{color}"/>"#, num(*x), num(*y));
    }
    svg.push_str("</svg>");
    svg
}

/// A value line over time (prices): min and max of the series span the height.
pub fn value_line(points: &[(DateTime<Utc>, f64)], from: DateTime<Utc>, to: DateTime<Utc>, color: &str) -> String {
    let (w, h) = (220.0, 40.0);
    let f = Frame { left: 3.0, top: 4.0, width: w - 6.0, height: h - 8.0 };
    let finite: Vec<f64> = points.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pts: Vec<Option<(f64, f64)>> = points
        .iter()
        .map(|(t, v)| v.is_finite().then(|| (time_x(&f, from, to, *t), value_y(&f, min, max, *v))))
        .collect();
    let mut svg = format!(
        r#"<svg class="spark price" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><path d="{}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>"#,
        path_d(&segments(&pts))
    );
    if let Some(Some((x, y))) = pts.last() {
        let _ = write!(svg, r#"<circle cx="{}" cy="{}" r="3" fill="{color}"/>"#, num(*x), num(*y));
    }
    svg.push_str("</svg>");
    svg
}

/// The volatility of each snapshot against the one before (0–1), as an area over time with a
/// dashed line at the period's mean.
pub fn volatility_chart(points: &[(DateTime<Utc>, f64)], axis: &Axis<'_>, aria: &str) -> String {
    let f = Frame { left: 44.0, top: 12.0, width: 640.0, height: 120.0 };
    let (w, h) = (f.right() + 20.0, f.bottom() + 34.0);
    let mut svg = format!(
        r#"<svg class="chart volatility" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{aria}">"#,
        num(w),
        num(h),
        num(w),
        num(h)
    );
    for share in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = num(value_y(&f, 0.0, 1.0, share));
        let _ = write!(
            svg,
            r#"<line class="row" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="rank" x="{}" y="{y}" dy="4" text-anchor="end">{}%</text>"#,
            num(f.left),
            num(f.right()),
            num(f.left - 8.0),
            (share * 100.0) as u32
        );
    }
    time_axis(&mut svg, &f, axis);
    let pts: Vec<(f64, f64)> =
        points.iter().map(|(t, v)| (time_x(&f, axis.from, axis.to, *t), value_y(&f, 0.0, 1.0, *v))).collect();
    if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
        let line = path_d(std::slice::from_ref(&pts));
        let base = num(f.bottom());
        let _ = write!(
            svg,
            r##"<path class="area" d="{line} L{},{base} L{},{base} Z" fill="#1f77b4" fill-opacity="0.15" stroke="none"/><path class="vol-line" d="{line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>"##,
            num(last.0),
            num(first.0)
        );
        let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
        let y = num(value_y(&f, 0.0, 1.0, mean));
        let _ = write!(
            svg,
            r##"<line class="mean" x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#d62728" stroke-dasharray="5 4"/>"##,
            num(f.left),
            num(f.right())
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z").unwrap().with_timezone(&Utc) + Duration::hours(h)
    }

    const F: Frame = Frame { left: 10.0, top: 20.0, width: 100.0, height: 190.0 };

    #[test]
    fn number_one_is_on_top_and_rows_are_even() {
        assert_eq!(rank_y(&F, 20, 1), 20.0);
        assert_eq!(rank_y(&F, 20, 20), 210.0);
        assert_eq!(rank_y(&F, 20, 2), 30.0);
        assert!(rank_y(&F, 20, 3) > rank_y(&F, 20, 2), "a worse position is lower");
        // Out-of-range positions are clamped, a single row sits in the middle.
        assert_eq!(rank_y(&F, 20, 40), 210.0);
        assert_eq!(rank_y(&F, 1, 1), 115.0);
    }

    #[test]
    fn time_maps_to_x_linearly() {
        assert_eq!(time_x(&F, t(0), t(10), t(0)), 10.0);
        assert_eq!(time_x(&F, t(0), t(10), t(5)), 60.0);
        assert_eq!(time_x(&F, t(0), t(10), t(10)), 110.0);
        assert_eq!(time_x(&F, t(0), t(10), t(20)), 110.0, "clamped");
        assert_eq!(time_x(&F, t(3), t(3), t(3)), 110.0, "a zero-length period");
    }

    #[test]
    fn values_span_the_height_higher_is_up() {
        assert_eq!(value_y(&F, 10.0, 20.0, 20.0), 20.0);
        assert_eq!(value_y(&F, 10.0, 20.0, 10.0), 210.0);
        assert_eq!(value_y(&F, 5.0, 5.0, 5.0), 115.0, "flat series in the middle");
    }

    #[test]
    fn gaps_split_a_line_into_runs() {
        let times: Vec<_> = (0..6).map(t).collect();
        let pos = [Some(3), Some(1), None, None, Some(2), None];
        let pts = rank_points(&F, 20, t(0), t(5), &times, &pos);
        let runs = segments(&pts);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], vec![(10.0, 40.0), (30.0, 20.0)]);
        assert_eq!(runs[1], vec![(90.0, 30.0)]);
        assert_eq!(path_d(&runs), "M10,40 L30,20 M90,30 L90,30");
        assert!(segments(&[None, None]).is_empty());
        assert_eq!(path_d(&[]), "");
    }

    #[test]
    fn ticks_fall_on_round_hours_inside_the_period() {
        let from = t(0) + Duration::minutes(15);
        let days = time_ticks(from, t(72));
        assert_eq!(days, vec![t(24), t(48), t(72)]);
        let quarter = time_ticks(t(1), t(13));
        assert_eq!(quarter, vec![t(6), t(12)]);
        assert!(time_ticks(t(2), t(1)).is_empty());
    }

    #[test]
    fn a_bump_chart_has_one_path_per_product_and_movers_on_top() {
        let times: Vec<_> = (0..3).map(t).collect();
        let a = [Some(1), Some(1), Some(2)];
        let b = [Some(2), None, Some(1)];
        let lines = vec![
            BumpLine { id: "MLB1", label: "A", tooltip: "A", positions: &a, current: 2, highlight: None },
            BumpLine { id: "MLB2", label: "B", tooltip: "B", positions: &b, current: 1, highlight: Some(0) },
        ];
        let axis = Axis { from: t(0), to: t(2), tick_format: "%H" };
        let svg = bump_chart(&times, &lines, &axis, "x");
        assert_eq!(svg.matches("<path class=\"bump-line").count(), 2);
        let muted = svg.find("data-product=\"MLB1\"").unwrap();
        let mover = svg.find("data-product=\"MLB2\"").unwrap();
        assert!(muted < mover, "the mover is drawn last, on top");
        assert!(svg.contains("class=\"bump-line mover\" data-product=\"MLB2\""));
        // MLB2 was out of the list at t(1): two runs.
        let d = svg[mover..].split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
    }
}
