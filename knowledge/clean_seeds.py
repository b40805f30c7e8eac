"""Rebuild knowledge/sources/*.md from the documents in ../shared/seeds (one-off curation aid).

Each cleaned copy keeps the document text verbatim, except: web-page chrome (share buttons,
"related posts", duplicated captions) is dropped, the title and date move into the front matter,
and paragraphs split by a PDF page break are joined again (whitespace only). Quotes are therefore
verifiable against both the cleaned copy and the original seed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent  # the repository root
SEEDS = ROOT.parent / "shared" / "seeds"
OUT = ROOT / "knowledge" / "sources"

SOURCES = [
    {
        "seed": "000_4291bd4e60861684.txt",
        "id": "bai-viet-75-nam",
        "short": "bài viết 75 năm (2023)",
        "title": "Phấn đấu xây dựng Đảng bộ Khối các cơ quan Trung ương trong sạch vững mạnh toàn diện",
        "publisher": "Bài báo điện tử (trang tin, không ghi tác giả)",
        "date": "2023",
        "kind": "bài báo",
        "description": "Bài viết dịp kỷ niệm 75 năm Ngày Truyền thống, tóm lược tài liệu tuyên truyền "
        "của Ban Tuyên giáo Đảng ủy Khối; có số liệu 61 đảng bộ, 78.449 đảng viên, 5.814 chi bộ.",
        "scope": "Đảng bộ Khối các cơ quan Trung ương",
        "drop_head": 1,
        "drop_lines": ["Facebook Comments Box", "Related Posts"],
        "cited_as": ["bài báo năm 2023", "bài báo 2023", "bài viết năm 2023", "bài viết 75 năm",
                     "bài viết kỷ niệm 75 năm", "bài viết dịp 75 năm", "bài 75 năm",
                     "tài liệu tuyên truyền", "tài liệu tuyên truyền 75 năm", "tài liệu 75 năm",
                     "tài liệu năm 2023"],
    },
    {
        "seed": "001_e02d187104395895.txt",
        "id": "phong-van-70-nam",
        "short": "phỏng vấn 70 năm (2018)",
        "title": "70 năm truyền thống Đảng bộ Khối các cơ quan Trung ương",
        "publisher": "Bài phỏng vấn (phóng viên Quỳnh Hoa)",
        "author": "Quỳnh Hoa",
        "date": "2018",
        "kind": "phỏng vấn",
        "description": "Phỏng vấn lãnh đạo Đảng ủy Khối dịp 70 năm Ngày Truyền thống: sự ra đời, "
        "năm bài học kinh nghiệm (1948-2018) và nhiệm vụ trọng tâm nhiệm kỳ 2015-2020.",
        "scope": "Đảng bộ Khối các cơ quan Trung ương",
        "drop_head": 1,
        "replace": {"Quỳnh HoaPhản hồi": "Quỳnh Hoa"},
        "drop_lines": ["Các tin khác", "Mới nhất", "Xem nhiều nhất"],
        "cited_as": ["bài phỏng vấn", "bài phỏng vấn 70 năm", "bài phỏng vấn năm 2018",
                     "bài phỏng vấn dịp 70 năm", "bài phỏng vấn nhân dịp 70 năm",
                     "bài phỏng vấn kỷ niệm 70 năm", "bài 70 năm", "bài năm 2018",
                     "bài 70 năm truyền thống"],
    },
    {
        "seed": "002_10cd39ce34e29a2d.txt",
        "id": "tpo-10-nam-2017",
        "short": "báo Tiền Phong 9/4/2017",
        "title": "Đảng bộ Khối các cơ quan Trung ương nhận Huân chương hạng Nhất",
        "publisher": "Báo Tiền Phong (TPO)",
        "date": "2017-04-09",
        "kind": "tin báo",
        "description": "Tin lễ kỷ niệm 10 năm thành lập (11/4/2007 - 11/4/2017): số liệu năm 2007 "
        "và 2017, Huân chương Lao động hạng Nhất do Chủ tịch nước Trần Đại Quang trao.",
        "scope": "Đảng bộ Khối các cơ quan Trung ương",
        "drop_head": 1,
        "dedupe": True,
        "drop_lines": ["Video đang được xem nhiều", "Cùng chuyên mục", "Xem thêm Xã hội", "Mới - Nóng"],
        "cited_as": ["bài báo năm 2017", "bài báo 2017", "bài báo Tiền Phong", "báo Tiền Phong",
                     "bản tin năm 2017", "tin năm 2017", "bài báo 10 năm",
                     "bài báo kỷ niệm 10 năm", "bài báo dịp 10 năm", "tin kỷ niệm 10 năm"],
    },
    {
        "seed": "003_7cd03f53d1efb3c7.txt",
        "id": "ke-hoach-95-2023",
        "short": "Kế hoạch 95-KH/ĐUK và tài liệu tuyên truyền (17/01/2023)",
        "title": "Kế hoạch số 95-KH/ĐUK tuyên truyền Kỷ niệm 75 năm Ngày Truyền thống Đảng bộ Khối "
        "các cơ quan Trung ương, kèm Tài liệu tuyên truyền",
        "publisher": "Ban Thường vụ Đảng ủy Khối các cơ quan Trung ương; tài liệu kèm theo của "
        "Ban Tuyên giáo Đảng ủy Khối",
        "date": "2023-01-17",
        "kind": "kế hoạch và tài liệu tuyên truyền",
        "description": "Kế hoạch 95-KH/ĐUK ngày 17/01/2023 (mục đích, nội dung, hình thức, thời gian, "
        "tổ chức thực hiện, khẩu hiệu) và tài liệu tuyên truyền 75 năm (lịch sử, ý nghĩa, kết quả, "
        "bài học, truyền thống, nhiệm vụ); số liệu đảng viên tính đến 30/6/2022.",
        "scope": "Đảng bộ Khối các cơ quan Trung ương",
        "join_page_breaks": True,
        "drop_lines": ["*Nguyễn Minh Chung/D/KNNTT/KN75N*"],
        "replace": {"nghiêm túc triển khai thực hiện. Chia": "nghiêm túc triển khai thực hiện.",
                    "- Lưu VP, BTG. nr": "- Lưu VP, BTG."},
        "cited_as": ["tài liệu tuyên truyền", "tài liệu tuyên truyền 75 năm", "tài liệu 75 năm",
                     "tài liệu kỷ niệm 75 năm", "tài liệu dịp 75 năm", "tài liệu năm 2023",
                     "tài liệu của Ban Tuyên giáo", "tài liệu kèm kế hoạch 95"],
    },
    {
        "seed": "004_fa6553a92803c2d8.txt",
        "id": "to-chuc-khoi-tinh-2023",
        "short": "bài viết của Ban Tổ chức một Đảng ủy Khối cấp tỉnh (10/10/2023)",
        "title": "Bài viết kỷ niệm 93 năm Ngày Truyền thống Ngành Tổ chức xây dựng Đảng "
        "(14/10/1930-14/10/2023)",
        "publisher": "Ban Tổ chức Đảng ủy Khối (một Đảng bộ Khối cấp tỉnh, trực thuộc Tỉnh ủy)",
        "date": "2023-10-10",
        "kind": "bài viết",
        "description": "Kết quả công tác tổ chức xây dựng Đảng từ đầu năm 2023 của một Đảng bộ Khối "
        "CẤP TỈNH (không phải Đảng bộ Khối các cơ quan Trung ương): 239 đảng viên mới, "
        "Quyết định 2045-QĐ/ĐUK, các lớp bồi dưỡng.",
        "scope": "Một Đảng bộ Khối cấp tỉnh (không phải Đảng bộ Khối các cơ quan Trung ương)",
        "provincial": True,
        "drop_head": 2,
        "drop_lines": [".:: Các bài viết liên quan", "Video hoạt động", "Hình ảnh hoạt động",
                       "Website liên kết"],
        "cited_as": ["bài viết năm 2023", "bài viết 93 năm", "bài 93 năm",
                     "bài viết kỷ niệm 93 năm", "bài viết ngành tổ chức",
                     "bài viết về ngành tổ chức",
                     "bài 93 năm ngành tổ chức", "bài viết 93 năm ngành tổ chức",
                     "bài kỷ niệm 93 năm ngành tổ chức", "bài viết kỷ niệm 93 năm ngành tổ chức"],
    },
]


def clean(spec: dict) -> str:
    text = (SEEDS / spec["seed"]).read_text(encoding="utf-8").replace("\r\n", "\n")
    for old, new in spec.get("replace", {}).items():
        assert old in text, old
        text = text.replace(old, new)
    if spec.get("join_page_breaks"):
        # A page break is a run of 3+ newlines; join when it falls mid-sentence (after a letter).
        text = re.sub(r"(?<=[^\W\d_])[ \t]*\n{3,}", " ", text)
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    paras = paras[spec.get("drop_head", 0):]
    drop = set(spec.get("drop_lines", []))
    paras = [p for p in paras if p not in drop]
    if spec.get("dedupe"):
        paras = [p if "\n" not in p else "\n".join(dict.fromkeys(p.split("\n"))) for p in paras]
    return "\n\n".join(paras) + "\n"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for spec in SOURCES:
        meta = {k: spec[k] for k in ("id", "short", "title", "publisher", "author", "date", "kind",
                                      "description", "scope", "provincial") if k in spec}
        meta["origin"] = f"shared/seeds/{spec['seed']}"
        meta["attribution"] = ("Văn bản gốc thuộc về cơ quan/tác giả nêu trên; bản sao đã bỏ phần "
                               "giao diện trang web, giữ nguyên văn để đối chiếu trích dẫn.")
        if "cited_as" in spec:  # how people name the document in a question
            meta["cited_as"] = spec["cited_as"]
        head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100)
        (OUT / f"{spec['id']}.md").write_text(f"---\n{head}---\n\n{clean(spec)}", encoding="utf-8")
        print("wrote", spec["id"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
