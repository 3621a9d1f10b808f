"""What the page's WebAssembly is made of: code bytes per crate, from the function names that
Cargo's (pre-wasm-opt) module keeps. Usage:

    python3 bench/wasm_size.py $CARGO_TARGET_DIR/wasm32-unknown-unknown/web/medclassify.wasm
"""
import re
import sys
from collections import Counter


STD = {"core", "alloc", "std"}
KNOWN = set("""medclassify burn_tensor burn_core burn_nn burn_optim burn_autodiff burn_fusion burn_cubecl
burn_cubecl_fusion burn_ir burn_flex burn_wgpu burn_backend burn_std burn_linalg burn cubecl_core cubecl_runtime
cubecl_wgpu cubecl_std cubecl_opt cubecl_ir cubecl_common cubecl_server cubecl_zspace cubecl cubek_matmul
cubek_convolution cubek_reduce cubek_attention cubek_std cubek_random cubek wgpu wgpu_core wgpu_types wgpu_hal naga
pliron yew yew_macro plotters plotters_backend plotters_svg image zune_jpeg zune_core png gif image_webp jpeg_decoder
serde serde_json web_sys js_sys wasm_bindgen wasm_bindgen_futures gloo gloo_timers hashbrown futures rayon
macerator pulp gemm half bytemuck sha2 rand rand_chacha""".split())


def tokens(name):
    """The path segments of a legacy-mangled Rust name (`_ZN10serde_json4read...E`), with the
    paths inside its `<...>` parts, in order."""
    if not name.startswith("_ZN"):
        return re.findall(r"[a-z][a-z0-9_]*", name)
    out, p = [], 3
    while p < len(name) and name[p].isdigit():
        q = p
        while name[q].isdigit():
            q += 1
        length = int(name[p:q])
        ident = name[q:q + length]
        out += [t for t in re.split(r"\.\.|\$[A-Za-z0-9]*\$|[^a-z0-9_]", ident) if t]
        p = q + length
    return out


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def main(path):
    data = open(path, "rb").read()
    pos, imports, bodies, names, sections = 8, 0, [], {}, Counter()
    while pos < len(data):
        sid = data[pos]
        size, pos = leb(data, pos + 1)
        end = pos + size
        if sid == 0:
            nlen, p = leb(data, pos)
            name = data[p:p + nlen].decode()
            sections[f"custom:{name}"] += size
            if name == "name":
                p += nlen
                while p < end:
                    sub, p = leb(data, p)
                    slen, p = leb(data, p)
                    if sub == 1:
                        count, q = leb(data, p)
                        for _ in range(count):
                            index, q = leb(data, q)
                            l, q = leb(data, q)
                            names[index] = data[q:q + l].decode(errors="replace")
                            q += l
                    p += slen
        else:
            sections[{1: "type", 2: "import", 3: "function", 7: "export", 10: "code", 11: "data"}.get(sid, str(sid))] += size
            if sid == 2:
                count, p = leb(data, pos)
                for _ in range(count):
                    for _ in range(2):
                        l, p = leb(data, p)
                        p += l
                    kind = data[p]
                    p += 1
                    if kind == 0:
                        _, p = leb(data, p)
                        imports += 1
                    elif kind == 1:
                        p += 1
                        flags, p = leb(data, p)
                        _, p = leb(data, p)
                        if flags & 1:
                            _, p = leb(data, p)
                    elif kind == 2:
                        flags, p = leb(data, p)
                        _, p = leb(data, p)
                        if flags & 1:
                            _, p = leb(data, p)
                    elif kind == 3:
                        p += 2
            if sid == 10:
                count, p = leb(data, pos)
                for _ in range(count):
                    body, p = leb(data, p)
                    bodies.append(body)
                    p += body
        pos = end
    crates = Counter()
    for i, body in enumerate(bodies):
        name = names.get(imports + i, "?")
        # Mangled Rust names hold the crate paths of the function and its type parameters; count
        # a function for the first crate named in it that is not the standard library.
        found = tokens(name)
        crate = next((c for c in found if c in KNOWN), None) or next((c for c in found if c in STD), "(other)")
        crates[crate] += body
    total = sum(bodies)
    print(f"{path}: {len(data) / 1e6:.2f} MB; code {total / 1e6:.2f} MB in {len(bodies)} functions; data {sections['data'] / 1e6:.2f} MB")
    families = Counter()
    for crate, size in crates.items():
        families[re.sub(r"^(cubecl|cubek|burn|wgpu|yew|plotters|serde|wasm_bindgen|zune|gloo)(_[a-z0-9_]+)?$", r"\1*", crate)] += size
    print("code by crate family (top 15):")
    for crate, size in families.most_common(15):
        print(f"  {crate:24} {size / 1e6:6.2f} MB  {100 * size / total:5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1])
