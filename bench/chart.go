package main

import (
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writeChart draws one bar-chart panel per test, stacked: a group of bars per
// model and thread count, a bar per engine/backend, each labelled with its t/s.
func (rp *report) writeChart(path string) error {
	series := rp.series()
	keys, cells := rp.rows()
	var tests []test
	seenTest := map[test]bool{}
	for _, k := range keys {
		if !seenTest[k.Test] {
			seenTest[k.Test] = true
			tests = append(tests, k.Test)
		}
	}
	if len(tests) == 0 || len(series) == 0 {
		return fmt.Errorf("no results to chart")
	}
	groupsOf := map[test][]rowKey{}
	maxGroups := 0
	for _, k := range keys {
		groupsOf[k.Test] = append(groupsOf[k.Test], k)
		maxGroups = max(maxGroups, len(groupsOf[k.Test]))
	}

	width := max(7*vg.Inch, vg.Length(maxGroups*len(series))*0.55*vg.Inch+1.5*vg.Inch)
	panelH := 3.2 * vg.Inch
	// Bars of a group fill 80% of the unit of x between groups.
	slot := 0.8 / float64(len(series))
	barW := min((width-1.2*vg.Inch)/vg.Length(maxGroups)*vg.Length(slot)*0.9, 1.2*vg.Inch)

	var plots [][]*plot.Plot
	for ti, t := range tests {
		groups := groupsOf[t]
		p := plot.New()
		p.Title.Text = t.String() + ": tokens/s (higher is better)"
		if ti == 0 {
			p.Title.Text = fmt.Sprintf("golem bench, %s, %s%s\n%s", rp.Machine.CPU, rp.Machine.Date.Format("2006-01-02"), rp.llamaNote(), p.Title.Text)
		}
		p.Y.Label.Text = "t/s"
		p.Y.Min = 0
		p.Legend.Top = true
		p.Legend.Left = true
		names := make([]string, len(groups))
		for i, g := range groups {
			names[i] = fmt.Sprintf("%s %s\n%s", g.Model.Preset, g.Model.Type, plural(g.Threads, "thread"))
		}
		top := 0.0
		for si, s := range series {
			vals := make(plotter.Values, len(groups))
			var labels plotter.XYLabels
			for i, g := range groups {
				r, ok := cells[g][s]
				if ok {
					vals[i] = r.AvgTS
					top = max(top, r.AvgTS)
				}
				x := float64(i) + (float64(si)-float64(len(series)-1)/2)*slot
				txt := "—"
				if ok {
					txt = fmt.Sprintf("%.1f±%.1f", r.AvgTS, r.StddevTS)
				}
				labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: vals[i]})
				labels.Labels = append(labels.Labels, txt)
			}
			bars, err := plotter.NewBarChart(vals, barW)
			if err != nil {
				return err
			}
			bars.XMin = (float64(si) - float64(len(series)-1)/2) * slot
			bars.Color = plotutil.Color(si)
			bars.LineStyle.Width = 0
			lab, err := plotter.NewLabels(labels)
			if err != nil {
				return err
			}
			for i := range lab.TextStyle {
				lab.TextStyle[i].XAlign = draw.XCenter
				lab.TextStyle[i].Font.Size = vg.Points(9)
			}
			p.Add(bars, lab)
			p.Legend.Add(s, bars)
		}
		p.Y.Max = top * 1.25 // room for the labels and the legend
		p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
		p.NominalX(names...)
		plots = append(plots, []*plot.Plot{p})
	}

	img := vgimg.NewWith(vgimg.UseWH(width, panelH*vg.Length(len(plots))), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(10), PadY: vg.Points(14)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
