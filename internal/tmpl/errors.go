package tmpl

import (
	"fmt"
	"strings"
)

// ParseError is the error Parse and ParseURL return for a template they
// reject. It says where the problem is so the author can find it.
type ParseError struct {
	// Offset is the byte offset of the problem in the template, from 0.
	Offset int
	// Line and Column locate Offset, both from 1; Column counts bytes.
	Line, Column int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error returns "template line L, column C (byte N): message".
func (e *ParseError) Error() string {
	return fmt.Sprintf("template line %d, column %d (byte %d): %s", e.Line, e.Column, e.Offset, e.Msg)
}

// newParseError returns a ParseError at byte offset off of src.
func newParseError(src string, off int, format string, args ...any) *ParseError {
	if off < 0 {
		off = 0
	}
	if off > len(src) {
		off = len(src)
	}
	line := 1 + strings.Count(src[:off], "\n")
	col := off + 1
	if i := strings.LastIndexByte(src[:off], '\n'); i >= 0 {
		col = off - i
	}
	return &ParseError{Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}
