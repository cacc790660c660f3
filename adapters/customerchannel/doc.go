// Package customerchannel is the Customer Channel face: the ExpertFlow-style
// chat API that web chat widgets and channel connectors (SMS, Facebook, …)
// speak. It serves POST /api/customer/init, GET or POST
// /api/customer/transcript/{id}/{type} and the Socket.IO events
// (joinConversation, sendMessage, endConversation, registerConnector,
// messageArrived, conversationInfo), and carries every conversation to an AXP
// v1beta engagement. The JSON of every payload is fixed in PAYLOADS.md.
//
// Sockets live in the process that accepted them. With several replicas, a
// Bus (RedisBus: Redis pub/sub) carries each AXP event to the replica that
// holds the conversation's sockets, and keeps one connector per channel
// across replicas.
//
// Each conversation's messages are recorded as they pass (record.go), and
// conversationInfo and transcripts are drawn from that record, with AXP's
// message list only where the record is not complete.
//
// Transcripts are the customer's only: the participant id from init, or a
// signed link handed out with endOfConversation (transcriptaccess.go).
// The PDF is written with go-pdf/fpdf and TrueType fonts read from
// TranscriptConfig.Fonts, the first font that has a character drawing it,
// so that one list covers many scripts (DejaVu Sans: Latin, Greek,
// Cyrillic, Arabic, Hebrew; Droid Sans Fallback: Chinese, Japanese,
// Korean, chosen over Noto CJK because the writer embeds TrueType outlines
// only and it is one 4 MB file; Lohit: Devanagari). Arabic is shaped into
// Unicode's presentation forms and right-to-left lines are put in visual
// order and aligned right (bidi.go), so that the PDF reads right and
// pdftotext gives the words back in order. Limits: scripts that need a
// shaping engine (Devanagari conjuncts and vowel-sign reordering, other
// Indic scripts) are drawn letter by letter; explicit bidi embeddings and
// isolates are not applied; characters beyond the Basic Multilingual Plane
// (emoji) are drawn as U+FFFD; font collections (.ttc) and CFF-based
// OpenType fonts cannot be used. With no readable font the PDF falls back to
// a built-in Helvetica writer that holds Latin-1 text only.
package customerchannel
