// Package customerchannel is the Customer Channel face: the ExpertFlow-style
// chat API that web chat widgets and channel connectors (SMS, Facebook, …)
// speak. It serves POST /api/customer/init, GET
// /api/customer/transcript/{id}/{type} and the Socket.IO events
// (joinConversation, sendMessage, endConversation, registerConnector,
// messageArrived, conversationInfo), and carries every conversation to an AXP
// v1beta engagement. The JSON of every payload is fixed in PAYLOADS.md.
//
// Sockets live in the process that accepted them. With several replicas, a
// Bus (RedisBus: Redis pub/sub) carries each AXP event to the replica that
// holds the conversation's sockets, and keeps one connector per channel
// across replicas.
package customerchannel
