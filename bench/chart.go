package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The chart is drawn with the standard library and basicfont: one panel per
// workload (each with its own scale, since req/s differ by orders of
// magnitude between hello and the 16 MiB stream), one bar per server.

var serverColors = map[string]color.RGBA{
	srvGohost:   {0xe4, 0x57, 0x1b, 0xff},
	srvUWSGI:    {0x1f, 0x77, 0xb4, 0xff},
	srvUWSGI11:  {0x6b, 0xae, 0xd6, 0xff},
	srvGunSync:  {0x2c, 0xa0, 0x2c, 0xff},
	srvGunThr:   {0x98, 0xdf, 0x8a, 0xff},
	srvWaitress: {0x94, 0x67, 0xbd, 0xff},
	srvCeiling:  {0x7f, 0x7f, 0x7f, 0xff},
}

var (
	colBG    = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colText  = color.RGBA{0x20, 0x20, 0x20, 0xff}
	colGrid  = color.RGBA{0xe0, 0xe0, 0xe0, 0xff}
	colAxis  = color.RGBA{0x80, 0x80, 0x80, 0xff}
	colMuted = color.RGBA{0xa0, 0xa0, 0xa0, 0xff}
)

const (
	chartCols  = 3
	panelW     = 500
	panelH     = 330
	chartTop   = 80
	chartSide  = 10
	lineHeight = 13
)

func drawText(img draw.Image, x, y int, s string, c color.Color) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Round()
}

func fillRect(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// niceMax rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// axis picks a round step and a top for values up to v: at most 5 steps of
// 1, 2 or 5 times a power of ten.
func axis(v float64) (step, top float64) {
	if v <= 0 {
		return 0.25, 1
	}
	raw := v / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-12) {
			step = m * p
			break
		}
	}
	return step, step * math.Ceil(v/step-1e-9)
}

func drawChart(rf *resultsFile) *image.RGBA {
	m := newMatrix(rf)
	info := rf.Info
	nw := len(info.Workloads)
	rows := (nw + chartCols - 1) / chartCols
	cols := chartCols
	if nw < cols {
		cols = nw
	}
	if cols == 0 {
		cols = 1
	}
	W := chartSide*2 + cols*panelW
	H := chartTop + rows*panelH + 10
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fillRect(img, img.Bounds(), colBG)

	mode := "full"
	if info.Short {
		mode = "short"
	}
	drawText(img, chartSide+4, 18, "gohost benchmark: requests/s per workload (higher is better; each panel has its own scale)", colText)
	drawText(img, W-chartSide-4-textWidth(chartFoot), 58, chartFoot, colMuted)
	drawText(img, chartSide+4, 34, info.Date+", "+mode+" mode, "+itoa(info.Workers)+" workers, "+itoa(info.Connections)+" connections, "+itoa(info.Nproc)+" cores, "+info.CPU, colMuted)

	// Legend.
	x := chartSide + 4
	for _, s := range info.Servers {
		c := serverColors[s.Name]
		fillRect(img, image.Rect(x, 48, x+12, 60), c)
		drawText(img, x+16, 58, s.Label, colText)
		x += 16 + textWidth(s.Label) + 18
	}

	for i, w := range info.Workloads {
		px := chartSide + (i%chartCols)*panelW
		py := chartTop + (i/chartCols)*panelH
		drawPanel(img, m, w, image.Rect(px, py, px+panelW, py+panelH))
	}
	return img
}

// starvedMs: a fresh connection waiting longer than this under load is
// flagged on the chart.
const starvedMs = 1000

const chartFoot = "! = errors   * = new connections waited > 1 s"

func drawPanel(img *image.RGBA, m *matrix, w workloadInfo, r image.Rectangle) {
	info := m.info
	drawText(img, r.Min.X+8, r.Min.Y+16, w.Title, colText)
	plot := image.Rect(r.Min.X+56, r.Min.Y+40, r.Max.X-12, r.Max.Y-40)

	// The scale follows the WSGI servers; a pure-Go ceiling far above them
	// (Flask, Django) is drawn as a broken bar so it does not flatten them.
	maxAll, maxPy := 0.0, 0.0
	for _, s := range info.Servers {
		if c := m.okCell(s.Name, w.Name); c != nil {
			maxAll = math.Max(maxAll, c.RPS)
			if s.Name != srvCeiling {
				maxPy = math.Max(maxPy, c.RPS)
			}
		}
	}
	scaleMax := maxAll
	if maxPy > 0 && maxAll > 2*maxPy {
		scaleMax = maxPy * 1.3
	}
	step, top := axis(scaleMax * 1.08)
	ticks := int(math.Round(top / step))
	// Grid and y labels.
	for k := 0; k <= ticks; k++ {
		v := step * float64(k)
		y := plot.Max.Y - int(float64(plot.Dy())*v/top)
		fillRect(img, image.Rect(plot.Min.X, y, plot.Max.X, y+1), colGrid)
		lbl := fmtNum(v)
		if k == 0 {
			lbl = "0"
		}
		drawText(img, plot.Min.X-6-textWidth(lbl), y+4, lbl, colMuted)
	}
	fillRect(img, image.Rect(plot.Min.X, plot.Min.Y, plot.Min.X+1, plot.Max.Y+1), colAxis)
	fillRect(img, image.Rect(plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y+1), colAxis)

	n := len(info.Servers)
	if n == 0 {
		return
	}
	slot := plot.Dx() / n
	barW := slot * 7 / 10
	for j, s := range info.Servers {
		bx := plot.Min.X + j*slot + (slot-barW)/2
		cx := bx + barW/2
		c := m.get(s.Name, w.Name)
		col := serverColors[s.Name]
		if !c.ok() {
			lbl := "n/a"
			if c != nil && c.State == "failed" {
				lbl = "fail"
			} else if c == nil {
				lbl = ""
			}
			drawText(img, cx-textWidth(lbl)/2, plot.Max.Y-4, lbl, colMuted)
			continue
		}
		h := int(float64(plot.Dy()) * c.RPS / top)
		if h < 1 && c.RPS > 0 {
			h = 1
		}
		broken := h > plot.Dy()
		if broken {
			h = plot.Dy()
		}
		fillRect(img, image.Rect(bx, plot.Max.Y-h, bx+barW, plot.Max.Y), col)
		if broken { // a white gap marks the axis break
			y := plot.Min.Y + plot.Dy()/5
			fillRect(img, image.Rect(bx-2, y, bx+barW+2, y+5), colBG)
		}
		lbl := fmtNum(c.RPS)
		if c.TotalErrors() > 0 {
			lbl += "!"
		}
		if c.ProbeMaxMs > starvedMs {
			lbl += "*"
		}
		drawText(img, cx-textWidth(lbl)/2, plot.Max.Y-h-4, lbl, colText)
	}
	// Connections under the axis.
	note := itoa(w.Conns) + " connections"
	drawText(img, plot.Min.X+(plot.Dx()-textWidth(note))/2, plot.Max.Y+18, note, colMuted)
}

func writeChart(path string, rf *resultsFile) error {
	img := drawChart(rf)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func itoa(i int) string { return strconv.Itoa(i) }
