"""Refusing zip bombs: a ZIP-based upload (xlsx, zip) is measured from its central directory before any
member is inflated, so a 1 MB file that would inflate to gigabytes is refused in milliseconds.

Every reader of a ZIP container (gridcare.core.tables.read_xlsx, and so `gridcare import`, `gridcare calendar
import`, `gridcare tags import-credit`) calls check_zip first. The declared sizes can be trusted as an upper
bound because the reader that follows is Python's zipfile (openpyxl uses it): it never returns more than a
member's declared file_size and fails on a CRC mismatch, so a member that lies about its size cannot inflate
past what was checked here.
"""

from __future__ import annotations

import zipfile
from typing import IO

from django.conf import settings

from gridcare.core.errors import ServiceError

MB = 1024 * 1024
# Small members may compress extremely well (an empty sheet's XML); the ratio only matters for big ones.
RATIO_CHECK_ABOVE = 1 * MB


class ArchiveRefused(ServiceError):
    status = 413  # what is too large is the content once inflated


def check_zip(
    stream: IO[bytes],
    *,
    max_bytes: int | None = None,
    max_members: int | None = None,
    max_ratio: int | None = None,
) -> None:
    """Raise ArchiveRefused (or ServiceError for a broken file) unless the archive is safe to inflate.

    The stream is left at its start for the real reader.
    """
    max_bytes = settings.GRIDCARE_ARCHIVE_MAX_MB * MB if max_bytes is None else max_bytes
    max_members = settings.GRIDCARE_ARCHIVE_MAX_MEMBERS if max_members is None else max_members
    max_ratio = settings.GRIDCARE_ARCHIVE_MAX_RATIO if max_ratio is None else max_ratio
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:  # reads only the central directory
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ServiceError(f"文件已损坏或不是 ZIP/Excel 格式：{exc}") from None
    finally:
        stream.seek(0)
    if len(members) > max_members:
        raise ArchiveRefused(f"压缩文件包含 {len(members)} 个成员，超过上限 {max_members}，已拒绝读取")
    total = 0
    for member in members:
        total += member.file_size
        if total > max_bytes:
            raise ArchiveRefused(
                f"文件解压后超过 {max_bytes // MB} MB（至少 {total // MB} MB），已拒绝读取；"
                "请拆分文件或删除多余的工作表"
            )
        if member.file_size > RATIO_CHECK_ABOVE and member.file_size > max_ratio * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise ArchiveRefused(
                f"文件中的 {member.filename[:80]} 压缩比异常（{ratio}:1，上限 {max_ratio}:1），疑似压缩炸弹，已拒绝读取"
            )
