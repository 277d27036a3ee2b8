package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// row is one line of the table: a figure measured over rounds for the
// library and, when there is one, for the raw reference.
type row struct {
	scenario string
	unit     string
	lib, raw []float64 // one value per round; raw nil: no raw reference
	// lowerBetter: the figure is a cost (time, CPU, memory), not a rate.
	lowerBetter bool
	// target, when set, is judged on the ratio of medians (library/raw)
	// when ofRaw, else on the library's median: the figure must be at
	// least (or, when lowerBetter, at most) target.
	target    float64
	hasTarget bool
	ofRaw     bool
	note      string
}

// withTarget sets a target for the library's median.
func (r row) withTarget(t float64) row {
	r.target, r.hasTarget = t, true
	return r
}

// withRatioTarget sets a target for the ratio library/raw.
func (r row) withRatioTarget(t float64) row {
	r.target, r.hasTarget, r.ofRaw = t, true, true
	return r
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// percentile returns the p-th percentile (0 < p < 1) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// figure formats a value with about three significant digits.
func figure(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a >= 100:
		return thousands(int64(math.Round(v)))
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func cell(xs []float64, unit string) string {
	if xs == nil {
		return "—"
	}
	s := figure(median(xs)) + " " + unit
	if len(xs) > 1 {
		s += fmt.Sprintf(" (%s–%s)", figure(slices.Min(xs)), figure(slices.Max(xs)))
	}
	return s
}

// renderTable returns rows as a markdown table. Targets are shown but not
// judged in a smoke run, nor ratio targets in a run of one side (side is
// -side: both, lib or raw).
func renderTable(rows []row, smoke bool, side string) string {
	var b strings.Builder
	b.WriteString("| scenario | library | raw | ratio | target | met? |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		ratio := median(r.lib) / median(r.raw) // NaN, never met, without both sides
		ratioCell, targetCell, met := "—", "—", "—"
		if r.lib != nil && r.raw != nil {
			ratioCell = fmt.Sprintf("%.2f", ratio)
		}
		judged := median(r.lib)
		if r.ofRaw {
			judged = ratio
		}
		if r.hasTarget {
			op := "≥"
			if r.lowerBetter {
				op = "≤"
			}
			if r.ofRaw {
				targetCell = fmt.Sprintf("%s %.2f×", op, r.target)
			} else {
				targetCell = fmt.Sprintf("%s %s %s", op, figure(r.target), r.unit)
			}
			ok := judged >= r.target
			if r.lowerBetter {
				ok = judged <= r.target
			}
			switch {
			case smoke:
				met = "(smoke)"
			case r.ofRaw && side != "both":
				met = "(" + side + " only)"
			case ok:
				met = "yes"
			default:
				met = "**no**"
			}
		}
		name := r.scenario
		if r.note != "" {
			name += " (" + r.note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, cell(r.lib, r.unit), cell(r.raw, r.unit), ratioCell, targetCell, met)
	}
	return b.String()
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	u := usage()
	return u.user + u.sys
}

// rusage is the part of getrusage(2) for the process that -v prints.
type rusage struct {
	user, sys time.Duration // CPU time in user space and in the kernel
	minflt    int64         // page faults served without I/O: mostly memory the process touches for the first time
}

func usage() rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return rusage{}
	}
	return rusage{user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano()), minflt: ru.Minflt}
}

// procStatusMiB returns a figure of /proc/self/status (VmRSS, VmHWM,
// RssAnon, RssFile) in MiB, or NaN where it is missing.
func procStatusMiB(key string) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key+":" {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				return kb / 1024
			}
		}
	}
	return math.NaN()
}

// syscalls returns the read and write system calls the process made so
// far (syscr and syscw of /proc/self/io), or zeros where it is missing.
func syscalls() (reads, writes int64) {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}
