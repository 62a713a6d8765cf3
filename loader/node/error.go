package node

import (
	"errors"
	"fmt"
)

// Reason classifies a load error. The values are BuildStream's
// LoadErrorReason names in lower case with dashes, so a user who knows
// BuildStream recognises them (and tests can match them).
type Reason string

// The reasons a project can fail to load.
const (
	MissingFile                 Reason = "missing-file"
	InvalidYAML                 Reason = "invalid-yaml"
	InvalidData                 Reason = "invalid-data"
	IllegalComposite            Reason = "illegal-composite"
	CircularDependency          Reason = "circular-dependency"
	UnresolvedVariable          Reason = "unresolved-variable"
	UnsupportedProject          Reason = "unsupported-project"
	UnsupportedPlugin           Reason = "unsupported-plugin"
	ExpressionFailed            Reason = "expression-failed"
	UserAssertion               Reason = "user-assertion"
	TrailingListDirective       Reason = "trailing-list-directive"
	ConflictingJunction         Reason = "conflicting-junction"
	InvalidJunction             Reason = "invalid-junction"
	SubprojectInconsistent      Reason = "subproject-inconsistent"
	InvalidSymbolName           Reason = "invalid-symbol-name"
	MissingProjectConf          Reason = "missing-project-conf"
	LoadingDirectory            Reason = "loading-directory"
	ProjPathInvalid             Reason = "proj-path-invalid"
	ProjPathInvalidKind         Reason = "proj-path-invalid-kind"
	RecursiveInclude            Reason = "recursive-include"
	CircularReferenceVariable   Reason = "circular-reference-variable"
	ProtectedVariableRedefined  Reason = "protected-variable-redefined"
	InvalidDependencyConfig     Reason = "invalid-dependency-config"
	LinkForbiddenDependencies   Reason = "link-forbidden-dependencies"
	CircularReference           Reason = "circular-reference"
	BadElementSuffix            Reason = "bad-element-suffix"
	BadCharactersInName         Reason = "bad-characters-in-name"
	UndefinedProvenanceAttr     Reason = "undefined-source-provenance-attribute"
	PluginNotFound              Reason = "plugin-not-found"
	InvalidElementNames         Reason = "invalid-element-names"
	ElementConfigurationInvalid Reason = "element-configuration-invalid"
)

// Error is a load error: what went wrong, why, and where.
type Error struct {
	Prov   Provenance // zero when the error has no single location
	Reason Reason
	Msg    string
	// Detail is optional extra text printed on lines after the message,
	// such as the whole cycle of a circular dependency.
	Detail string
	// Err is an underlying cause, if any (an I/O error, say).
	Err error
}

// Errorf builds an *Error located at p.
func Errorf(p Provenance, r Reason, format string, args ...any) *Error {
	return &Error{Prov: p, Reason: r, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Prov.Valid() {
		s = e.Prov.String() + ": " + s
	}
	if e.Detail != "" {
		s += "\n\n" + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of the first *Error in err's chain, or "".
func ReasonOf(err error) Reason {
	var le *Error
	if errors.As(err, &le) {
		return le.Reason
	}
	return ""
}
