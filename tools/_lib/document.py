"""A small report model rendered twice: Markdown (images linked) and one self-contained HTML file
(images embedded as data URIs), so the same content reads on GitHub and in a browser offline.

    doc = Document("nst_det demo")
    doc.add(Heading("Detection stage"), Table(["detector", "VOC mAP"], [["CE backbone", "0.714"]]),
            Image(Path("curves.png"), "training curves"), Code("python tools/run_demo.py"))
    doc.write(Path("work_dirs/demo/report"))   # report.md + report.html
"""
from __future__ import annotations

import base64
import html
import mimetypes
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass
class Image:
    path: Path
    caption: str


@dataclass
class Code:
    text: str


Block = Union[Heading, Paragraph, Table, Image, Code]
_HTML_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
               "td{text-align:right}td:first-child{text-align:left}img{max-width:100%;border:1px solid #eee}"
               "pre{background:#f6f6f6;padding:8px;overflow-x:auto}figure{margin:1em 0}")


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> "Document":
        self.blocks.extend(blocks)
        return self

    def markdown(self, base: Path) -> str:
        """Markdown with image links relative to ``base`` (the folder the file is written to)."""
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            if isinstance(block, Heading):
                out += [f"{'#' * block.level} {block.text}", ""]
            elif isinstance(block, Paragraph):
                out += [block.text, ""]
            elif isinstance(block, Table):
                out += ["| " + " | ".join(block.header) + " |", "|" + "---|" * len(block.header)]
                out += ["| " + " | ".join(row) + " |" for row in block.rows] + [""]
            elif isinstance(block, Image):
                out += [f"![{block.caption}]({os.path.relpath(block.path, base)})", f"*{block.caption}*", ""]
            else:
                out += ["```", block.text, "```", ""]
        return "\n".join(out)

    def html(self) -> str:
        """One HTML page with every image embedded."""
        out = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
               f"<style>{_HTML_STYLE}</style>", f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            if isinstance(block, Heading):
                out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
            elif isinstance(block, Paragraph):
                out.append(f"<p>{html.escape(block.text)}</p>")
            elif isinstance(block, Table):
                head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block.header)
                body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                               for row in block.rows)
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif isinstance(block, Image):
                mime = mimetypes.guess_type(block.path.name)[0] or "image/png"
                data = base64.b64encode(block.path.read_bytes()).decode()
                out.append(f"<figure><img src='data:{mime};base64,{data}' alt='{html.escape(block.caption)}'>"
                           f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
            else:
                out.append(f"<pre>{html.escape(block.text)}</pre>")
        return "\n".join(out) + "\n"

    def write(self, stem: Path) -> tuple[Path, Path]:
        """Write ``<stem>.md`` and ``<stem>.html``; returns both paths."""
        md, page = stem.with_suffix(".md"), stem.with_suffix(".html")
        md.write_text(self.markdown(stem.parent))
        page.write_text(self.html())
        return md, page
