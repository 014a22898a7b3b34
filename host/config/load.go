package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"
)

// Load builds the Config of a run from the command line (args, without the
// program name) and the process environment (environ, as os.Environ), in
// this order of precedence, each layer overriding the ones before it:
//
//  1. Default()
//  2. $VIRTUAL_ENV, as the default of --virtualenv
//  3. the TOML config file named by -c/--config, else by GOHOST_CONFIG
//  4. GOHOST_* environment variables (GOHOST_WORKERS=4, GOHOST_BIND=a,b)
//  5. command-line flags, then the positional APP
//
// It returns the first error of the layers, or Validate's. With --help or
// --version it returns right after the command line, with Help or Version
// set, skipping the other layers and validation. Without --print-config,
// APP is required (as the positional argument, or app in a config file or
// GOHOST_APP); --print-config allows it to be missing.
func Load(args []string, environ []string) (*Config, error) {
	cl, err := parseCommandLine(args)
	if err != nil {
		return nil, err
	}
	c := Default()
	cl.applyRunFlags(c)
	if c.Help || c.Version {
		return c, nil
	}

	env := envMap(environ)
	if v := env[EnvVirtualenv]; v != "" {
		c.Virtualenv = v
	}
	path := env[EnvPrefix+"CONFIG"]
	if p, ok := cl.last("config"); ok {
		path = p
	}
	if path != "" {
		if err := loadFile(c, path); err != nil {
			return nil, err
		}
	}
	if err := loadEnv(c, environ); err != nil {
		return nil, err
	}
	cl.apply(c)
	c.ConfigFile = path

	switch len(cl.positional) {
	case 0:
	case 1:
		c.App = cl.positional[0]
	default:
		return nil, fmt.Errorf("too many arguments %q: APP (MODULE:CALLABLE) is the only positional argument", cl.positional)
	}
	if c.App == "" && !c.PrintConfig {
		return nil, errors.New("missing APP: give the application as MODULE:CALLABLE, like 'gohost myapp:application'")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// commandLine is the parsed command line: each flag's parsed values in the
// order given, not yet applied so that lower layers can be applied first.
type commandLine struct {
	values     map[*setting][]any
	positional []string
}

// flagValue is a pflag.Value that parses and records each occurrence.
type flagValue struct {
	s  *setting
	cl *commandLine
}

func (v flagValue) Set(raw string) error {
	x, err := v.s.parse(raw, v.s.split)
	if err != nil {
		return err
	}
	v.cl.values[v.s] = append(v.cl.values[v.s], x)
	return nil
}

func (v flagValue) String() string { return "" }
func (v flagValue) Type() string   { return v.s.metavar }

// newFlagSet defines every command-line setting on a FlagSet recording into
// cl. Names are normalized so '_' and '-' are the same
// (--limit-request-field_size and --limit-request-field-size).
func newFlagSet(cl *commandLine) *pflag.FlagSet {
	fs := pflag.NewFlagSet("gohost", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		return pflag.NormalizedName(normKey(name))
	})
	for _, s := range settings {
		if s.where&inFlags == 0 {
			continue
		}
		v := flagValue{s: s, cl: cl}
		f := fs.VarPF(v, s.name, s.short, s.usage)
		if s.kind == kBool {
			f.NoOptDefVal = "true"
		}
		for _, a := range s.aliases {
			af := fs.VarPF(v, a, "", s.usage)
			af.Hidden = true
			if s.kind == kBool {
				af.NoOptDefVal = "true"
			}
		}
	}
	return fs
}

func parseCommandLine(args []string) (*commandLine, error) {
	cl := &commandLine{values: make(map[*setting][]any)}
	fs := newFlagSet(cl)
	if err := fs.Parse(args); err != nil {
		return nil, flagError(err)
	}
	cl.positional = fs.Args()
	return cl, nil
}

// flagError rewrites pflag's errors into gohost's one-line form, with a
// migration hint for gunicorn flags gohost does not have.
func flagError(err error) error {
	var notExist *pflag.NotExistError
	var invalid *pflag.InvalidValueError
	var required *pflag.ValueRequiredError
	switch {
	case errors.As(err, &notExist):
		flag, long := "--"+notExist.GetSpecifiedName(), notExist.GetSpecifiedName()
		if notExist.GetSpecifiedShortnames() != "" {
			short := notExist.GetSpecifiedName()
			flag, long = "-"+short, gunicornShort[short]
		}
		msg := "unknown flag " + flag
		if long != "" {
			if h := hint(long, flagName); h != "" {
				msg += ": " + h
			}
		}
		return errors.New(msg)
	case errors.As(err, &invalid):
		return fmt.Errorf("--%s: %w", invalid.GetFlag().Name, errors.Unwrap(invalid))
	case errors.As(err, &required):
		return fmt.Errorf("--%s needs a value", required.GetFlag().Name)
	}
	return err
}

func flagName(s *setting) string { return "--" + s.name }

// last returns the last value given for the named string setting.
func (cl *commandLine) last(name string) (string, bool) {
	vs := cl.values[byKey[name]]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1].(string), true
}

// applyRunFlags applies --help and --version alone, which short-circuit Load.
func (cl *commandLine) applyRunFlags(c *Config) {
	for _, name := range []string{"help", "version"} {
		s := byKey[name]
		for _, v := range cl.values[s] {
			s.assign(c, v, false)
		}
	}
}

// apply assigns the flags in table order: scalars take their last value;
// a list flag replaces the lower layers' list and repeats extend it.
func (cl *commandLine) apply(c *Config) {
	for _, s := range settings {
		for i, v := range cl.values[s] {
			s.assign(c, v, i > 0)
		}
	}
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// loadEnv applies GOHOST_* variables. Lists are comma-separated. An unknown
// GOHOST_ variable that looks like a typo of a setting (or names a gunicorn
// setting) is an error, since it would otherwise be silently ignored; any
// other unknown one belongs to the app (GOHOST_DJANGO_DB, say) and is left
// alone, as are the worker protocol's.
func loadEnv(c *Config, environ []string) error {
	for _, kv := range environ {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || internalEnv[name] {
			continue
		}
		key := normKey(strings.TrimPrefix(name, EnvPrefix))
		s := byKey[key]
		if s == nil || s.where&inEnv == 0 || s.env() != name {
			msg := "unknown environment variable " + name
			if s != nil && s.where&inEnv == 0 {
				return fmt.Errorf("%s: --%s can only be given on the command line", msg, s.name)
			}
			h := hint(key, func(s *setting) string { return s.env() })
			if h == "" {
				continue // not ours: the app's own variable
			}
			return errors.New(msg + ": " + h)
		}
		if s.name == "config" {
			continue // read by Load before the file
		}
		v, err := s.parse(raw, true)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.assign(c, v, false)
	}
	return nil
}

// loadFile applies a TOML config file: top-level keys named like the long
// flags ('-' or '_'), values of the setting's type or strings to parse like
// a flag's ("30s"); lists as arrays (or a comma-separated string).
func loadFile(c *Config, path string) error {
	var m map[string]any
	if _, err := toml.DecodeFile(path, &m); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("config file %s: line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("config file %s: %w", path, unwrapPathError(err))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		if err := fileSetting(c, k, m[k]); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
	}
	return nil
}

func fileSetting(c *Config, key string, val any) error {
	s := byKey[normKey(key)]
	if s == nil || s.where&inFile == 0 {
		if s != nil {
			if s.name == "config" {
				return fmt.Errorf("%s: a config file cannot name another", key)
			}
			return fmt.Errorf("%s: --%s can only be given on the command line", key, s.name)
		}
		msg := "unknown key " + key
		if h := hint(key, func(s *setting) string { return s.key() }); h != "" {
			msg += ": " + h
		}
		return errors.New(msg)
	}
	var v any
	var err error
	if s.kind == kList {
		v, err = tomlList(val)
	} else {
		var raw string
		if raw, err = tomlScalar(val); err == nil {
			v, err = s.parse(raw, false)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	s.assign(c, v, false)
	return nil
}

// tomlScalar renders a TOML scalar as the text a flag would carry.
func tomlScalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("%v is not a usable number", x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []any:
		return "", errors.New("want a single value, not an array")
	case map[string]any:
		return "", errors.New("want a value, not a table")
	}
	return "", fmt.Errorf("unsupported value %v (%T)", v, v)
}

// tomlList reads an array of scalars, or a comma-separated string.
func tomlList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return splitList(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, err := tomlScalar(e)
			if err != nil {
				return nil, fmt.Errorf("array item: %w", err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want an array of strings, like [\"a\", \"b\"], got %v", v)
}
