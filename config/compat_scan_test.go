package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	goparser "go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// modelUses is where code outside this package uses the fields of the
// configuration model: for each "Type.Field", the places that read it.
// Assignments to a field are left out, as they read nothing.
type modelUses map[string][]token.Position

// goListPackage is the part of go list -json this scan needs.
type goListPackage struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	CgoFiles   []string
	Module     *struct{ Path string }
}

// scanModelUses type-checks every non-test package of the module except
// this one, with the export data go list -export writes, and records
// every selection of a field of a type declared here.
func scanModelUses(t *testing.T) modelUses {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-export", "-json", "./...")
	cmd.Dir = ".."
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var (
		pkgs    []goListPackage
		exports = make(map[string]string)
		module  string
	)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goListPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list: %v", err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && strings.HasSuffix(p.ImportPath, "/config") && module == "" {
			module = p.Module.Path
		}
		pkgs = append(pkgs, p)
	}
	self := module + "/config"
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})

	uses := make(modelUses)
	for _, p := range pkgs {
		if p.Module == nil || p.Module.Path != module || p.ImportPath == self {
			continue
		}
		var files []*ast.File
		for _, name := range append(p.GoFiles, p.CgoFiles...) {
			f, err := goparser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatalf("parsing %s: %v", name, err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: make(map[*ast.SelectorExpr]*types.Selection)}
		conf := types.Config{Importer: imp, FakeImportC: true}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-checking %s: %v", p.ImportPath, err)
		}
		written := make(map[*ast.SelectorExpr]bool)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				if as, ok := n.(*ast.AssignStmt); ok {
					for _, l := range as.Lhs {
						if se, ok := l.(*ast.SelectorExpr); ok {
							written[se] = true
						}
					}
				}
				return true
			})
		}
		for se, sel := range info.Selections {
			if sel.Kind() != types.FieldVal || written[se] {
				continue
			}
			v := sel.Obj().(*types.Var)
			if v.Pkg() == nil || v.Pkg().Path() != self {
				continue
			}
			owner := fieldOwner(sel)
			if owner == "" {
				continue
			}
			key := owner + "." + v.Name()
			uses[key] = append(uses[key], fset.Position(se.Sel.Pos()))
		}
	}
	return uses
}

// fieldOwner names the config type that declares the selected field.
func fieldOwner(sel *types.Selection) string {
	t := sel.Recv()
	idx := sel.Index()
	for i, j := range idx {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		n, ok := t.(*types.Named)
		if !ok {
			return ""
		}
		st, ok := n.Underlying().(*types.Struct)
		if !ok {
			return ""
		}
		if i == len(idx)-1 {
			return n.Obj().Name()
		}
		t = st.Field(j).Type()
	}
	return ""
}
