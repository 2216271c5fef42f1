"""The package's layers import only from the layers above them (the order of vidsynth_lite/__init__.py)."""

import ast
import pathlib

import vidsynth_lite

PACKAGE = pathlib.Path(vidsynth_lite.__file__).resolve().parent


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: pathlib.Path, package: str):
    """Every ``vidsynth_lite.*`` module named by an import anywhere in ``path`` (function bodies included)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "vidsynth_lite":
                yield from (f"{module}.{a.name}" for a in node.names)
            else:
                yield module


def violations(order=vidsynth_lite.LAYERS):
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if path.name == "__init__.py" else rel.parts)
        if module in ("vidsynth_lite", "vidsynth_lite.__main__"):
            continue
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        own = _layer(module)
        for target in _imports(path, package):
            if not target.startswith("vidsynth_lite.") or _layer(target) == own:
                continue
            if _layer(target) not in order or own not in order:
                found.append(f"{path.name}: {own} or {_layer(target)} is not a known layer")
            elif order.index(_layer(target)) > order.index(own):
                found.append(f"{rel}: layer {own!r} imports {target} from the lower layer {_layer(target)!r}")
    return found


def test_no_layer_imports_a_layer_below_it():
    assert violations() == []


def test_the_check_catches_an_upward_import():
    order = list(vidsynth_lite.LAYERS)
    order.remove("io")
    order.append("io")               # pretend files were the lowest layer: the loop's checkpoint import is caught
    assert any("layer 'train' imports vidsynth_lite.io" in v for v in violations(order))


def test_every_package_folder_is_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert folders | modules <= set(vidsynth_lite.LAYERS)
