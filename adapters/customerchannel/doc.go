// Package customerchannel is the Customer Channel face: the ExpertFlow-style
// chat API that web chat widgets and channel connectors (SMS, Facebook, …)
// speak. It serves POST /api/customer/init, GET
// /api/customer/transcript/{id}/{type} and the Socket.IO events
// (joinConversation, sendMessage, endConversation, registerConnector,
// messageArrived, conversationInfo), and carries every conversation to an AXP
// v1beta engagement. The JSON of every payload is fixed in PAYLOADS.md.
package customerchannel
