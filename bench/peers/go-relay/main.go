// A minimal Go net/http relay of the gateway's chat, the language of new-api and one-api:
// POST /api/v1/chat decodes the body, streams Coze's /v3/chat, and answers the gateway's
// JSON envelope (the deltas concatenated) or, with "stream": true, one SSE frame per
// delta. Standard library only; built by the bench into os.tmpdir() (go build).
// UPSTREAM_URL, UPSTREAM_TOKEN, COZE_BOT_ID, PORT; prints {"ready":true,"url":…} once listening.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatBody struct {
	BotID    string    `json:"bot_id"`
	UserID   string    `json:"user_id"`
	Messages []message `json:"messages"`
	Stream   bool      `json:"stream"`
}

type cozeMessage struct {
	Role        string `json:"role"`
	Type        string `json:"type"`
	Content     string `json:"content"`
	ContentType string `json:"content_type"`
}

type cozeBody struct {
	BotID              string        `json:"bot_id"`
	UserID             string        `json:"user_id"`
	Stream             bool          `json:"stream"`
	AdditionalMessages []cozeMessage `json:"additional_messages"`
}

type cozeData struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id"`
	Type           string          `json:"type"`
	Content        string          `json:"content"`
	Usage          json.RawMessage `json:"usage"`
}

type frame struct {
	Type           string          `json:"type"`
	Content        string          `json:"content,omitempty"`
	ConversationID string          `json:"conversation_id,omitempty"`
	ChatID         string          `json:"chat_id,omitempty"`
	Usage          json.RawMessage `json:"usage,omitempty"`
	Timestamp      string          `json:"timestamp"`
}

var (
	upstream   = env("UPSTREAM_URL", "http://127.0.0.1:2027")
	token      = env("UPSTREAM_TOKEN", "")
	defaultBot = env("COZE_BOT_ID", "")
	client     = &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}}
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// cozeEvents streams /v3/chat and calls fn for each SSE frame until done.
func cozeEvents(b *chatBody, fn func(event string, d *cozeData)) error {
	cb := cozeBody{BotID: b.BotID, UserID: b.UserID, Stream: true}
	if cb.BotID == "" {
		cb.BotID = defaultBot
	}
	if cb.UserID == "" {
		cb.UserID = "anonymous"
	}
	for _, m := range b.Messages {
		t := "answer"
		if m.Role == "user" {
			t = "question"
		}
		cb.AdditionalMessages = append(cb.AdditionalMessages, cozeMessage{m.Role, t, m.Content, "text"})
	}
	payload, _ := json.Marshal(cb)
	req, _ := http.NewRequest(http.MethodPost, upstream+"/v3/chat", bytes.NewReader(payload))
	req.Header.Set("authorization", "Bearer "+token)
	req.Header.Set("content-type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("Coze answered %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "event:") {
			event = line[6:]
		} else if strings.HasPrefix(line, "data:") {
			if event == "done" {
				return nil
			}
			var d cozeData
			if err := json.Unmarshal([]byte(line[5:]), &d); err != nil {
				return err
			}
			if event == "error" {
				return fmt.Errorf("Coze error: %s", line[5:])
			}
			fn(event, &d)
		}
	}
	return sc.Err()
}

func chat(w http.ResponseWriter, r *http.Request) {
	var b chatBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if b.Stream {
		w.Header().Set("content-type", "text/event-stream")
		w.Header().Set("cache-control", "no-cache")
		flusher, _ := w.(http.Flusher)
		send := func(f frame) {
			j, _ := json.Marshal(f)
			w.Write([]byte("data: "))
			w.Write(j)
			w.Write([]byte("\n\n"))
			flusher.Flush()
		}
		err := cozeEvents(&b, func(event string, d *cozeData) {
			if event == "conversation.message.delta" && d.Type == "answer" {
				send(frame{Type: "message_delta", Content: d.Content, Timestamp: now()})
			} else if event == "conversation.chat.completed" {
				send(frame{Type: "chat_completed", ConversationID: d.ConversationID, ChatID: d.ID, Usage: d.Usage, Timestamp: now()})
			}
		})
		if err != nil {
			j, _ := json.Marshal(map[string]any{"type": "error", "message": err.Error(), "code": "UPSTREAM_ERROR", "status": 502, "timestamp": now()})
			w.Write([]byte("data: " + string(j) + "\n\n"))
		}
		w.Write([]byte("data: {\"type\":\"end\"}\n\n"))
		return
	}
	var content strings.Builder
	var done *cozeData
	err := cozeEvents(&b, func(event string, d *cozeData) {
		if event == "conversation.message.delta" && d.Type == "answer" {
			content.WriteString(d.Content)
		} else if event == "conversation.chat.completed" {
			done = d
		}
	})
	w.Header().Set("content-type", "application/json")
	if err == nil && done == nil {
		err = fmt.Errorf("the chat did not complete")
	}
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]any{"success": false, "message": err.Error(), "data": nil})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"success": true,
		"message": "Chat completed successfully",
		"data": map[string]any{
			"status": "completed", "content": content.String(), "conversation_id": done.ConversationID, "chat_id": done.ID,
			"bot_id": b.BotID, "user_id": b.UserID, "usage": done.Usage, "timestamp": now(),
		},
		"conversation_id": done.ConversationID,
	})
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("/api/v1/chat", chat)
	ln, err := net.Listen("tcp", "127.0.0.1:"+env("PORT", "0"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("{\"ready\":true,\"url\":\"http://%s\"}\n", ln.Addr().String())
	http.Serve(ln, mux)
}
