# The original service's stack, as a peer of the gateway: FastAPI + httpx under uvicorn
# (Debian's python3-fastapi, python3-uvicorn, python3-httpx). POST /api/v1/chat does the
# gateway's work for a plain chat turn: validates the body (pydantic), maps the messages
# to Coze's additional_messages, streams /v3/chat, and either aggregates the deltas into
# the gateway's JSON envelope or relays one SSE frame per delta ("stream": true), with
# the Coze errors (HTTP status, a JSON error on HTTP 200, event:error) answered as 502.
# No sessions, rate limits or access keys: those the gateway does on top.
#
# UPSTREAM_URL, UPSTREAM_TOKEN, PORT; GET /health answers 200 once listening.
import json
import os
import sys
from datetime import datetime, timezone
from typing import List, Optional

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:2027")
TOKEN = os.environ.get("UPSTREAM_TOKEN", "")
DEFAULT_BOT = os.environ.get("COZE_BOT_ID", "")
HEADERS = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}

app = FastAPI()
client: Optional[httpx.AsyncClient] = None


class Message(BaseModel):
    role: str
    content: str


class ChatBody(BaseModel):
    bot_id: Optional[str] = None
    user_id: Optional[str] = None
    conversation_id: Optional[str] = None
    messages: List[Message]
    stream: bool = False


class UpstreamError(Exception):
    pass


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(o) -> str:
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def fail(message: str, status: int = 502) -> JSONResponse:
    return JSONResponse({"success": False, "message": message, "data": None, "code": "UPSTREAM_ERROR"}, status_code=status)


@app.on_event("startup")
async def startup() -> None:
    global client
    client = httpx.AsyncClient(base_url=UPSTREAM, headers=HEADERS, timeout=httpx.Timeout(30.0),
                               limits=httpx.Limits(max_connections=None, max_keepalive_connections=100))


@app.get("/health")
async def health():
    return {"status": "ok"}


async def coze_events(body: ChatBody):
    """Streams /v3/chat and yields (event, data) for every SSE frame."""
    payload = {
        "bot_id": body.bot_id or DEFAULT_BOT,
        "user_id": body.user_id or "anonymous",
        "stream": True,
        "auto_save_history": True,
        "additional_messages": [
            {"role": m.role, "type": "question" if m.role == "user" else "answer", "content": m.content, "content_type": "text"}
            for m in body.messages
        ],
    }
    params = {"conversation_id": body.conversation_id} if body.conversation_id else None
    async with client.stream("POST", "/v3/chat", params=params, content=dumps(payload)) as r:
        if r.status_code != 200:
            raise UpstreamError(f"Coze answered HTTP {r.status_code}")
        if not r.headers.get("content-type", "").startswith("text/event-stream"):
            err = json.loads(await r.aread())
            raise UpstreamError(f"Coze error {err.get('code')}: {err.get('msg')}")
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
                if event == "done":
                    return
                if event == "error":
                    err = json.loads(data)
                    raise UpstreamError(f"Coze error {err.get('code')}: {err.get('msg')}")
                yield event, json.loads(data)
    raise UpstreamError("the Coze stream ended before done")


async def aggregate(body: ChatBody):
    content = []
    done = None
    async for event, data in coze_events(body):
        if event == "conversation.message.delta" and data.get("type") == "answer":
            content.append(data.get("content", ""))
        elif event == "conversation.chat.completed":
            done = data
        elif event == "conversation.chat.failed":
            raise UpstreamError(data.get("last_error", {}).get("msg", "chat failed"))
    if done is None:
        raise UpstreamError("the chat did not complete")
    return {
        "success": True,
        "message": "Chat completed successfully",
        "data": {
            "status": "completed",
            "content": "".join(content),
            "conversation_id": done["conversation_id"],
            "chat_id": done["id"],
            "bot_id": body.bot_id or DEFAULT_BOT,
            "user_id": body.user_id or "anonymous",
            "usage": done.get("usage"),
            "timestamp": now(),
        },
        "conversation_id": done["conversation_id"],
    }


async def frames(body: ChatBody):
    try:
        async for event, data in coze_events(body):
            if event == "conversation.message.delta" and data.get("type") == "answer":
                yield f"data: {dumps({'type': 'message_delta', 'content': data.get('content', ''), 'timestamp': now()})}\n\n"
            elif event == "conversation.chat.completed":
                yield f"data: {dumps({'type': 'chat_completed', 'conversation_id': data['conversation_id'], 'chat_id': data['id'], 'usage': data.get('usage'), 'timestamp': now()})}\n\n"
    except UpstreamError as e:
        yield f"data: {dumps({'type': 'error', 'message': str(e), 'code': 'UPSTREAM_ERROR', 'status': 502, 'timestamp': now()})}\n\n"
    yield 'data: {"type":"end"}\n\n'


@app.post("/api/v1/chat")
async def chat(body: ChatBody):
    if body.stream:
        return StreamingResponse(frames(body), media_type="text/event-stream", headers={"cache-control": "no-cache"})
    try:
        return await aggregate(body)
    except (UpstreamError, httpx.HTTPError) as e:
        return fail(str(e))


if __name__ == "__main__":
    # uvicorn picks uvloop and httptools when they are installed ("auto"), as
    # `pip install uvicorn[standard]` would; BENCH_UVICORN_LOOP/HTTP override.
    loop = os.environ.get("BENCH_UVICORN_LOOP", "auto")
    http = os.environ.get("BENCH_UVICORN_HTTP", "auto")
    print(json.dumps({"loop": loop, "http": http, "python": sys.version.split()[0]}), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "0")), loop=loop, http=http,
                log_level="warning", access_log=False)
