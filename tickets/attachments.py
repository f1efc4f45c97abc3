"""Attachments: validated on the way in, stored through Django's storage under the tenant's
own prefix, served only as downloads by a permission-checked view."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from .models import Attachment, Message
from .sanitize import safe_filename

# Executables and scripts are refused outright; HTML/SVG are accepted but only ever downloaded.
FORBIDDEN_EXTENSIONS = {
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "jar", "js", "jse", "vbs", "vbe",
    "wsf", "wsh", "ps1", "psm1", "hta", "cpl", "lnk", "reg", "dll", "sys", "apk", "app",
}  # fmt: skip


class AttachmentError(ValueError):
    pass


def max_bytes() -> int:
    return getattr(settings, "HELPDESK_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)


def attachment_validate(upload: UploadedFile) -> str:
    """The safe filename for `upload`, or AttachmentError saying what is wrong."""
    name = safe_filename(upload.name or "")
    if upload.size > max_bytes():
        raise AttachmentError(
            _("%(name)s is larger than %(limit)d MB.")
            % {"name": name, "limit": max_bytes() // (1024 * 1024)}
        )
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in FORBIDDEN_EXTENSIONS:
        raise AttachmentError(_("%(name)s: this type of file is not accepted.") % {"name": name})
    return name


def attachment_store(*, message: Message, upload: UploadedFile) -> Attachment:
    name = attachment_validate(upload)
    content_type = (
        upload.content_type
        if getattr(upload, "content_type", None)
        else mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    attachment = Attachment(
        message=message, filename=name, content_type=content_type[:100], size=upload.size
    )
    attachment.tenant_id = message.tenant_id
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment
