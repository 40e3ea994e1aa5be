package sandbox

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

// A small SOAP 1.1 reader and writer for the RPC-style services emulated
// here (Webgains, TradeTracker).

// soapCall is the operation of a SOAP request and its arguments by local
// element name in lower case (names are matched case-insensitively);
// nested elements are named parent.child.
type soapCall struct {
	op   string
	args map[string]string
}

// readSOAP parses a SOAP envelope from the request body.
func readSOAP(r *http.Request) (*soapCall, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	var stack []string
	call := &soapCall{args: map[string]string{}}
	var text strings.Builder
	inBody := false
	bodyDepth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch x := tok.(type) {
		case xml.StartElement:
			stack = append(stack, x.Name.Local)
			text.Reset()
			switch {
			case !inBody && x.Name.Local == "Body":
				inBody, bodyDepth = true, len(stack)
			case inBody && len(stack) == bodyDepth+1:
				call.op = x.Name.Local
			}
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			if inBody && len(stack) > bodyDepth+1 {
				name := strings.ToLower(strings.Join(stack[bodyDepth+1:], "."))
				if _, ok := call.args[name]; !ok {
					call.args[name] = strings.TrimSpace(text.String())
				}
			}
			if inBody && len(stack) == bodyDepth {
				inBody = false
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	if call.op == "" {
		return nil, errors.New("no operation in the SOAP body")
	}
	return call, nil
}

const soapEnvelopeStart = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="%NS%" ` +
	`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
	`xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><SOAP-ENV:Body>`

const soapEnvelopeEnd = `</SOAP-ENV:Body></SOAP-ENV:Envelope>`

// soapEnvelope wraps body in a SOAP envelope declaring ns as ns1.
func soapEnvelope(ns string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Replace(soapEnvelopeStart, "%NS%", ns, 1))
	b.Write(body)
	b.WriteString(soapEnvelopeEnd)
	return b.Bytes()
}

// soapFault is a SOAP 1.1 fault (HTTP 500 unless status says otherwise).
func soapFault(status int, ns, code, msg string) *response {
	var b bytes.Buffer
	b.WriteString("<SOAP-ENV:Fault><faultcode>" + code + "</faultcode><faultstring>")
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString("</faultstring></SOAP-ENV:Fault>")
	return &response{status: status, ctype: "text/xml", body: soapEnvelope(ns, b.Bytes())}
}

// xmlElem writes <name xsi:type="typ">text</name>, or xsi:nil for a nil
// value.
func xmlElem(b *bytes.Buffer, name, typ string, v any) {
	if v == nil {
		b.WriteString("<" + name + ` xsi:nil="true"/>`)
		return
	}
	b.WriteString("<" + name + ` xsi:type="` + typ + `">`)
	_ = xml.EscapeText(b, []byte(scalarText(v)))
	b.WriteString("</" + name + ">")
}
