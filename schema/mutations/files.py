"""Uploading a file through GraphQL (the GraphQL multipart request spec, see
server/graphql_http.py): `uploadAttachment` stores it for the uploader, who then passes its id
to the mutation that links it (`attachmentIds`, a visit's `photoIds`), as with POST /uploads."""

from __future__ import annotations

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from models.errors import DomainError
from models.ops import attachments as ops
from schema.errors import UserError, attempt
from schema.mutations.common import row
from schema.types.files import ATTACHMENT_COLUMNS, Attachment


@strawberry.input
class UploadAttachmentInput:
    file: Upload = strawberry.field(
        description="The file: a part of a GraphQL multipart request mapped to this variable "
        "(JPG/PNG/WEBP/HEIC/GIF, PDF, Word/Excel/PowerPoint, UTF-8 text; at most 20 MB)."
    )
    client_id: str | None = strawberry.field(
        default=None,
        description="A client-made id (UUID): a retry of the same file with the same id "
        "returns the first attachment; the same id with another file is CLIENT_ID_REUSED.",
    )


@strawberry.type
class UploadAttachmentPayload:
    attachment: Attachment | None
    errors: list[UserError]


@strawberry.type
class FileMutations:
    @strawberry.mutation(
        description="Store a file for the signed-in user (only they see it until it is linked "
        "to a demand or visit). Send it as a GraphQL multipart request. Photos keep their EXIF "
        "GPS position and time taken (`photoLocation`)."
    )
    async def upload_attachment(
        self, info: Info, input: UploadAttachmentInput
    ) -> UploadAttachmentPayload:
        ctx = info.context

        async def run() -> Attachment:
            actor = ctx.require_actor()
            upload = input.file
            if not isinstance(upload, UploadFile):  # e.g. a string sent as JSON
                raise DomainError("UPLOAD_EXPECTED", "file")
            # The multipart reader already held it to the size limit; read one byte more so
            # store_upload refuses anything that got past it all the same.
            await upload.seek(0)
            data = await upload.read(ops.MAX_UPLOAD_BYTES + 1)
            stored = await ops.upload_attachment(
                actor,
                upload.filename or "",
                upload.content_type,
                data,
                input.client_id,
                ctx.upload_quota,
            )
            return Attachment.from_row(row(stored, ATTACHMENT_COLUMNS))

        attachment, errors = await attempt(ctx.locale, run)
        return UploadAttachmentPayload(attachment=attachment, errors=errors)
