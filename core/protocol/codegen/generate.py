#!/usr/bin/env python3
"""Generates Eddy's Kafka message codecs from the descriptions in core/protocol/schemas.

Run at build time by CMake; its output lives in the build directory and is never committed.

Description format (one file per API, `<api>.api`; written by Eddy from the public protocol guide):

    # comment
    api <snake_name> <key>
    versions <min>-<max>           versions described (and implemented) here
    flexible <N>+ | none           first flexible version (compact encodings + tagged fields)
    request
      <field> <type> [attr ...]    two spaces of indent per nesting level
    response
      ...

Types: int8 int16 int32 int64 uint16 float64 bool string bytes records uuid, a struct name
(its fields follow, indented one more level), or []T for an array of either.
Attributes: vA+ / vA-B (versions where the field exists; default: all), nullable (in every
version where present) or nullable:vA+ / nullable:vA-B, tag:N (tagged field; must come with
its version range, all flexible), default:X (initial value; ints, bool, or "null").

For each API it writes <api>.h/.cc declaring <api>_request and <api>_response with
encode(writer&, version) and decode(reader&, version), a samples file used by the
round-trip tests, and api_keys.h/.cc with one traits entry per API.
"""
import os
import re
import sys

PRIMS = {
    "int8": ("std::int8_t", "0"),
    "int16": ("std::int16_t", "0"),
    "uint16": ("std::uint16_t", "0"),
    "int32": ("std::int32_t", "0"),
    "int64": ("std::int64_t", "0"),
    "float64": ("double", "0"),
    "bool": ("bool", "false"),
    "string": ("std::string", None),
    "bytes": ("bytes", None),
    "records": ("record_bytes", None),
    "uuid": ("uuid", None),
}
INF = 32767


class SchemaError(Exception):
    pass


class Field:
    def __init__(self, name, type_, attrs, line):
        self.name = name
        self.is_array = type_.startswith("[]")
        self.elem = type_[2:] if self.is_array else type_
        self.is_struct = self.elem not in PRIMS
        self.children = []
        self.vmin, self.vmax = 0, INF
        self.nmin, self.nmax = INF, -1  # nullable range (empty by default)
        self.tag = None
        self.default = None
        for a in attrs:
            if re.fullmatch(r"v\d+\+", a):
                self.vmin = int(a[1:-1])
            elif re.fullmatch(r"v\d+-\d+", a):
                lo, hi = a[1:].split("-")
                self.vmin, self.vmax = int(lo), int(hi)
            elif a == "nullable":
                self.nmin, self.nmax = 0, INF
            elif re.fullmatch(r"nullable:v\d+\+", a):
                self.nmin, self.nmax = int(a[10:-1]), INF
            elif re.fullmatch(r"nullable:v\d+-\d+", a):
                lo, hi = a[10:].split("-")
                self.nmin, self.nmax = int(lo), int(hi)
            elif re.fullmatch(r"tag:\d+", a):
                self.tag = int(a[4:])
            elif a.startswith("default:"):
                self.default = a[8:]
            elif a == "ignorable":
                pass
            else:
                raise SchemaError(f"line {line}: unknown attribute {a!r}")
        if self.is_struct and not re.fullmatch(r"[a-z][a-z0-9_]*", self.elem):
            raise SchemaError(f"line {line}: bad type {type_!r}")

    @property
    def nullable_ever(self):
        return self.nmin <= self.nmax


class Message:
    def __init__(self, api, kind):
        self.api = api
        self.kind = kind
        self.name = f"{api.name}_{kind}"
        self.fields = []


class Api:
    def __init__(self):
        self.name = None
        self.key = None
        self.vmin = self.vmax = None
        self.flex = INF
        self.request = None
        self.response = None


def parse(path):
    api = Api()
    current = None
    stack = []  # (indent, field)
    for lineno, raw in enumerate(open(path), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        words = line.split()
        if indent == 0:
            if words[0] == "api":
                api.name, api.key = words[1], int(words[2])
            elif words[0] == "versions":
                lo, hi = words[1].split("-")
                api.vmin, api.vmax = int(lo), int(hi)
            elif words[0] == "flexible":
                api.flex = INF if words[1] == "none" else int(words[1].rstrip("+"))
            elif words[0] in ("request", "response"):
                current = Message(api, words[0])
                setattr(api, words[0], current)
                stack = []
            else:
                raise SchemaError(f"{path}:{lineno}: unknown directive {words[0]!r}")
            continue
        if current is None or indent % 2:
            raise SchemaError(f"{path}:{lineno}: field outside a message or odd indent")
        level = indent // 2
        if len(words) < 2:
            raise SchemaError(f"{path}:{lineno}: field needs a name and a type")
        f = Field(words[0], words[1], words[2:], lineno)
        while stack and stack[-1][0] >= level:
            stack.pop()
        if level == 1:
            current.fields.append(f)
        else:
            if not stack or stack[-1][0] != level - 1 or not stack[-1][1].is_struct:
                raise SchemaError(f"{path}:{lineno}: nested field without a struct parent")
            stack[-1][1].children.append(f)
        if f.is_struct:
            stack.append((level, f))
    for m in (api.request, api.response):
        if m is None:
            raise SchemaError(f"{path}: needs both request and response")
    if api.name is None or api.vmin is None:
        raise SchemaError(f"{path}: needs api and versions lines")
    return api


def cpp_elem_type(f):
    return f.elem if f.is_struct else PRIMS[f.elem][0]


def cpp_type(f):
    t = cpp_elem_type(f)
    if f.is_array:
        t = f"std::vector<{t}>"
    if f.nullable_ever:
        t = f"std::optional<{t}>"
    return t


def cpp_default(f):
    if f.default is not None and f.default != "null":
        d = f.default
        if f.elem == "bool":
            return d
        if f.elem == "string":
            return '"' + d + '"'
        return d
    if not f.is_array and not f.nullable_ever and PRIMS.get(f.elem, (None, None))[1] is not None:
        return PRIMS[f.elem][1]
    return None


def vcond(lo, hi, var="version"):
    parts = []
    if lo > 0:
        parts.append(f"{var} >= {lo}")
    if hi < INF:
        parts.append(f"{var} <= {hi}")
    return " && ".join(parts) if parts else "true"


def present_cond(f):
    return vcond(f.vmin, f.vmax)


def null_cond(f):
    return vcond(f.nmin, f.nmax)


class Gen:
    def __init__(self, api):
        self.api = api
        self.h = []
        self.cc = []
        self.samples = []

    # ---- declarations ----
    def declare_struct(self, name, fields, indent):
        pad = "  " * indent
        out = [f"{pad}struct {name} {{"]
        for f in fields:
            if f.is_struct:
                out += self.declare_struct(f.elem, f.children, indent + 1)
        for f in fields:
            d = cpp_default(f)
            init = f" = {d}" if d is not None else "{}"
            out.append(f"{pad}  {cpp_type(f)} {f.name}{init};")
        out.append(f"{pad}  bool operator==(const {name}&) const = default;")
        out.append(f"{pad}}};")
        return out

    # ---- codec functions, post-order so helpers are defined before use ----
    def struct_funcs(self, qual, fnname, fields):
        for f in fields:
            if f.is_struct:
                self.struct_funcs(f"{qual}::{f.elem}", f"{fnname}_{f.elem}", f.children)
        enc = [f"static void encode_{fnname}(writer& w, const {qual}& v, std::int16_t version) {{",
               f"  const bool flex = version >= {self.api.flex};", "  (void)flex;"]
        dec = [f"static void decode_{fnname}(reader& r, {qual}& v, std::int16_t version) {{",
               f"  const bool flex = version >= {self.api.flex};", "  (void)flex;"]
        smp = [f"static void sample_{fnname}({qual}& v, std::int16_t version, sample_rng& g) {{",
               "  (void)g; (void)version;"]
        tagged = []
        for f in fields:
            if f.tag is not None:
                tagged.append(f)
                continue
            enc += ["  if (" + present_cond(f) + ") {"] + ["    " + l for l in self.enc_field(f, "v." + f.name, fnname)] + ["  }"]
            dec += ["  if (" + present_cond(f) + ") {"] + ["    " + l for l in self.dec_field(f, "v." + f.name, fnname, "r")] + ["  }"]
        for f in fields:
            smp += ["  if (" + present_cond(f) + ") {"] + ["    " + l for l in self.smp_field(f, "v." + f.name, fnname)] + ["  }"]
        # tagged fields section (flexible versions only)
        enc.append("  if (flex) {")
        enc.append("    std::uint32_t tagged_count = 0;")
        for f in sorted(tagged, key=lambda x: x.tag):
            enc.append(f"    if (({present_cond(f)}) && {self.nondefault(f, 'v.' + f.name)}) ++tagged_count;")
        enc.append("    w.write_uvarint(tagged_count);")
        for f in sorted(tagged, key=lambda x: x.tag):
            enc.append(f"    if (({present_cond(f)}) && {self.nondefault(f, 'v.' + f.name)}) {{")
            enc.append("      bytes tagged_buf;")
            enc.append("      writer tw(tagged_buf);")
            enc += ["      " + l for l in self.enc_field(f, "v." + f.name, fnname, "tw")]
            enc.append(f"      w.write_uvarint({f.tag});")
            enc.append("      w.write_uvarint(tagged_buf.size());")
            enc.append("      w.write_raw(tagged_buf.data(), tagged_buf.size());")
            enc.append("    }")
        enc.append("  }")
        dec.append("  if (flex) {")
        dec.append("    r.read_tagged_fields([&](std::uint32_t tag, reader& tr) {")
        dec.append("      (void)tr;")
        dec.append("      switch (tag) {")
        for f in sorted(tagged, key=lambda x: x.tag):
            dec.append(f"        case {f.tag}:")
            dec.append(f"          if ({present_cond(f)}) {{")
            dec += ["            " + l for l in self.dec_field(f, "v." + f.name, fnname, "tr")]
            dec.append("          }")
            dec.append("          break;")
        dec.append("        default:")
        dec.append("          break;  // unknown tags are skipped, as the protocol requires")
        dec.append("      }")
        dec.append("    });")
        dec.append("  }")
        enc.append("}")
        dec.append("}")
        smp.append("}")
        self.cc += enc + [""] + dec + [""]
        self.samples += smp + [""]

    def nondefault(self, f, expr):
        d = cpp_default(f)
        if f.nullable_ever:
            return f"{expr}.has_value()"
        if f.is_array or f.elem in ("string", "bytes", "records"):
            return f"!{expr}.empty()"
        if f.elem == "uuid":
            return f"!({expr} == uuid{{}})"
        return f"({expr} != {d})"

    def enc_prim(self, elem, expr, w):
        if elem in ("string",):
            return [f"{w}.write_string({expr}, flex);"]
        if elem == "bytes":
            return [f"{w}.write_bytes({expr}, flex);"]
        if elem == "records":
            return [f"{w}.write_records({expr}, flex);"]
        return [f"{w}.write_{elem}({expr});"]

    def enc_field(self, f, expr, fnname, w="w"):
        out = []
        if f.nullable_ever:
            out.append(f"if (!{expr}.has_value()) {{")
            if f.is_array:
                out.append(f"  if ({null_cond(f)}) {w}.write_array_length(-1, flex); else {w}.write_array_length(0, flex);")
            elif f.elem == "string":
                out.append(f"  if ({null_cond(f)}) {w}.write_length(-1, flex, false); else {w}.write_string(\"\", flex);")
            else:
                out.append(f"  if ({null_cond(f)}) {w}.write_length(-1, flex, true); else {w}.write_bytes(std::span<const std::uint8_t>{{}}, flex);")
            out.append("} else {")
            inner = self.enc_value(f, f"(*{expr})", fnname, w)
            out += ["  " + l for l in inner]
            out.append("}")
            return out
        return self.enc_value(f, expr, fnname, w)

    def enc_value(self, f, expr, fnname, w):
        if f.is_array:
            out = [f"{w}.write_array_length(std::int64_t({expr}.size()), flex);", f"for (const auto& e : {expr}) {{"]
            if f.is_struct:
                out.append(f"  encode_{fnname}_{f.elem}({w}, e, version);")
            else:
                out += ["  " + l for l in self.enc_prim(f.elem, "e", w)]
            out.append("}")
            return out
        if f.is_struct:
            return [f"encode_{fnname}_{f.elem}({w}, {expr}, version);"]
        return self.enc_prim(f.elem, expr, w)

    def dec_prim(self, elem, r):
        if elem == "string":
            return f"{r}.read_string(flex)"
        if elem == "bytes":
            return f"{r}.read_bytes(flex)"
        if elem == "records":
            return f"{r}.read_records(flex)"
        return f"{r}.read_{elem}()"

    def dec_field(self, f, expr, fnname, r):
        out = []
        if f.is_array:
            out.append("{")
            out.append(f"  std::int64_t n = {r}.read_array_length(flex);")
            if f.nullable_ever:
                out.append(f"  if (n < 0) {{ if (!({null_cond(f)})) throw decode_error(\"null array {f.name}\"); {expr}.reset(); }}")
                out.append(f"  else {{ {expr}.emplace(); auto& vec = *{expr};")
            else:
                out.append(f"  if (n < 0) throw decode_error(\"null array {f.name}\");")
                out.append(f"  {{ auto& vec = {expr}; vec.clear();")
            out.append("    vec.reserve(std::size_t(n));")
            out.append("    for (std::int64_t i = 0; i < n; ++i) {")
            if f.is_struct:
                out.append("      auto& e = vec.emplace_back();")
                out.append(f"      decode_{fnname}_{f.elem}({r}, e, version);")
            else:
                out.append(f"      vec.push_back({self.dec_prim(f.elem, r)});")
            out.append("    }")
            out.append("  }")
            out.append("}")
            return out
        if f.is_struct:
            if f.nullable_ever:
                raise SchemaError("nullable structs are not supported")
            return [f"decode_{fnname}_{f.elem}({r}, {expr}, version);"]
        if f.nullable_ever:
            if f.elem == "string":
                return [f"if ({null_cond(f)}) {expr} = {r}.read_nullable_string(flex); else {expr} = {r}.read_string(flex);"]
            if f.elem == "records":
                return [f"if ({null_cond(f)}) {expr} = {r}.read_nullable_records(flex); else {expr} = {r}.read_records(flex);"]
            return [f"if ({null_cond(f)}) {expr} = {r}.read_nullable_bytes(flex); else {expr} = {r}.read_bytes(flex);"]
        return [f"{expr} = {self.dec_prim(f.elem, r)};"]

    def smp_prim(self, elem):
        return {
            "int8": "std::int8_t(g.next())", "int16": "std::int16_t(g.next())", "uint16": "std::uint16_t(g.next())",
            "int32": "std::int32_t(g.next())", "int64": "std::int64_t(g.next())", "float64": "double(g.next() % 1000) / 4",
            "bool": "(g.next() & 1) != 0", "string": "g.string()", "bytes": "g.bytes_value()", "records": "g.bytes_value()",
            "uuid": "g.uuid_value()",
        }[elem]

    def smp_field(self, f, expr, fnname):
        out = []
        target = expr
        if f.nullable_ever:
            out.append(f"if (({null_cond(f)}) && g.next() % 4 == 0) {{ {expr}.reset(); }} else {{")
            out.append(f"  {expr}.emplace();")
            target = f"(*{expr})"
        body = []
        if f.is_array:
            body.append(f"{target}.clear();")
            body.append("for (int i = 0, n = int(g.next() % 3); i < n; ++i) {")
            if f.is_struct:
                body.append(f"  auto& e = {target}.emplace_back();")
                body.append(f"  sample_{fnname}_{f.elem}(e, version, g);")
            else:
                body.append(f"  {target}.push_back({self.smp_prim(f.elem)});")
            body.append("}")
        elif f.is_struct:
            body.append(f"sample_{fnname}_{f.elem}({target}, version, g);")
        else:
            body.append(f"{target} = {self.smp_prim(f.elem)};")
        if f.nullable_ever:
            out += ["  " + l for l in body] + ["}"]
        else:
            out += body
        return out

    def run(self):
        a = self.api
        self.h += ["// Generated by core/protocol/codegen/generate.py from core/protocol/schemas/" + a.name + ".api. Do not edit.",
                   "#pragma once", "", "#include \"core/protocol/wire.h\"", "#include \"core/protocol/api_keys.h\"", "",
                   "#include <cstdint>", "#include <optional>", "#include <string>", "#include <vector>", "",
                   "namespace eddy::protocol {", ""]
        for m in (a.request, a.response):
            decl = self.declare_struct(m.name, m.fields, 0)
            decl.insert(1, f"  static constexpr api_key message_api_key = api_key::{a.name};")
            decl.insert(2, f"  static constexpr std::int16_t min_version = {a.vmin};")
            decl.insert(3, f"  static constexpr std::int16_t max_version = {a.vmax};")
            decl.insert(4, f"  static constexpr std::int16_t first_flexible_version = {a.flex};")
            decl.insert(-2, "  void encode(writer& w, std::int16_t version) const;")
            decl.insert(-2, "  void decode(reader& r, std::int16_t version);")
            self.h += decl + [""]
            self.h.append(f"// Fills every field present in `version` with pseudo-random values (round-trip tests).")
            self.h.append(f"void fill_sample({m.name}& m, std::int16_t version, std::uint64_t seed);")
            self.h.append("")
        self.h += ["}  // namespace eddy::protocol", ""]
        self.cc += [f"// Generated from core/protocol/schemas/{a.name}.api. Do not edit.",
                    f"#include \"core/protocol/messages/{a.name}.h\"", "", "namespace eddy::protocol {", "namespace {", ""]
        self.samples += [f"// Generated from core/protocol/schemas/{a.name}.api. Do not edit.",
                         f"#include \"core/protocol/messages/{a.name}.h\"", "#include \"core/protocol/sample_rng.h\"", "",
                         "namespace eddy::protocol {", "namespace {", ""]
        for m in (a.request, a.response):
            self.struct_funcs(m.name, m.name, m.fields)
        self.cc += ["}  // namespace", ""]
        self.samples += ["}  // namespace", ""]
        for m in (a.request, a.response):
            self.cc += [f"void {m.name}::encode(writer& w, std::int16_t version) const {{ encode_{m.name}(w, *this, version); }}",
                        f"void {m.name}::decode(reader& r, std::int16_t version) {{ decode_{m.name}(r, *this, version); }}", ""]
            self.samples += [f"void fill_sample({m.name}& m, std::int16_t version, std::uint64_t seed) {{",
                             "  sample_rng g(seed);", f"  sample_{m.name}(m, version, g);", "}", ""]
        self.cc.append("}  // namespace eddy::protocol")
        self.samples.append("}  // namespace eddy::protocol")


def write_if_changed(path, text):
    if os.path.exists(path) and open(path).read() == text:
        return
    with open(path, "w") as f:
        f.write(text)


def main():
    schema_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out_dir, "core/protocol/messages"), exist_ok=True)
    apis = []
    for fn in sorted(os.listdir(schema_dir)):
        if fn.endswith(".api"):
            try:
                apis.append(parse(os.path.join(schema_dir, fn)))
            except SchemaError as e:
                sys.exit(f"generate.py: {fn}: {e}")
    keys = {}
    for a in apis:
        if a.key in keys:
            sys.exit(f"generate.py: api key {a.key} used by {keys[a.key]} and {a.name}")
        keys[a.key] = a.name
        g = Gen(a)
        g.run()
        base = os.path.join(out_dir, "core/protocol/messages", a.name)
        write_if_changed(base + ".h", "\n".join(g.h) + "\n")
        write_if_changed(base + ".cc", "\n".join(g.cc) + "\n")
        write_if_changed(base + "_samples.cc", "\n".join(g.samples) + "\n")
    apis.sort(key=lambda a: a.key)
    h = ["// Generated by core/protocol/codegen/generate.py. Do not edit.",
         "// One traits entry per API: key, name, described version range, first flexible version.",
         "#pragma once", "", "#include <cstdint>", "#include <span>", "#include <string_view>", "",
         "namespace eddy::protocol {", "", "enum class api_key : std::int16_t {"]
    h += [f"  {a.name} = {a.key}," for a in apis]
    h += ["};", "", "struct api_info {", "  api_key key;", "  std::string_view name;", "  std::int16_t min_version;",
          "  std::int16_t max_version;", "  std::int16_t first_flexible_version;  // 32767 = never flexible", "};", "",
          "// All described APIs, sorted by key.", "std::span<const api_info> all_apis();",
          "// nullptr when the key is not described.", "const api_info* find_api(std::int16_t key);",
          "// Whether (key, version) uses flexible encodings; false for unknown keys.",
          "bool is_flexible(std::int16_t key, std::int16_t version);", "",
          "// Every described message type, for generic code: F is called as f.template operator()<request, response>().",
          "#define EDDY_PROTOCOL_FOR_EACH_API(X) \\"]
    h += [f"  X({a.name}) \\" for a in apis]
    h += ["", "}  // namespace eddy::protocol", ""]
    cc = ["// Generated by core/protocol/codegen/generate.py. Do not edit.", "#include \"core/protocol/api_keys.h\"", "",
          "#include <algorithm>", "", "namespace eddy::protocol {", "", "namespace {", "constexpr api_info apis[] = {"]
    cc += [f"    {{api_key::{a.name}, \"{a.name}\", {a.vmin}, {a.vmax}, {a.flex}}}," for a in apis]
    cc += ["};", "}  // namespace", "", "std::span<const api_info> all_apis() { return apis; }", "",
           "const api_info* find_api(std::int16_t key) {",
           "  for (const auto& a : apis)", "    if (std::int16_t(a.key) == key) return &a;", "  return nullptr;", "}", "",
           "bool is_flexible(std::int16_t key, std::int16_t version) {",
           "  const api_info* a = find_api(key);", "  return a != nullptr && version >= a->first_flexible_version;", "}", "",
           "}  // namespace eddy::protocol", ""]
    write_if_changed(os.path.join(out_dir, "core/protocol/api_keys.h"), "\n".join(h))
    write_if_changed(os.path.join(out_dir, "core/protocol/api_keys.cc"), "\n".join(cc))
    allh = ["// Generated. Includes every message codec.", "#pragma once", ""]
    allh += [f"#include \"core/protocol/messages/{a.name}.h\"" for a in apis]
    write_if_changed(os.path.join(out_dir, "core/protocol/messages/all.h"), "\n".join(allh) + "\n")


if __name__ == "__main__":
    main()
