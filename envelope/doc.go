// Package envelope reads and writes the Messaging Connector API's message
// envelopes: requests {"kind":"req","id","type","body"}, sent one at a time
// (SEND) or as a JSON array (CONVERSATION), and the responses
// {"kind":"resp","reqId","code","body"} that answer them.
//
// A request's id is echoed as reqId in exactly the JSON form the client sent
// (a string stays a string with the same escapes, a number stays the same
// number), because connectors match answers to requests by comparing it.
package envelope
