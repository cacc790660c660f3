package connectorapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// AXP's limits on a parameter map.
const (
	maxParams     = 20
	maxParamKey   = 64
	maxParamValue = 256
	maxIdentValue = 256
	maxIdents     = 5
)

// userProfile is userprofile.SetUserProfile's body: the SDEs of
// authenticatedData and the flat profile fields.
// Ids and phone numbers are looseString: clients send them as numbers too.
type userProfile struct {
	FirstName         string      `json:"firstName"`
	LastName          string      `json:"lastName"`
	UserID            looseString `json:"userId"`
	AuthenticatedData *struct {
		SDEs []sde `json:"lp_sdes"`
	} `json:"authenticatedData"`
	PrivateData *struct {
		MobileNum looseString `json:"mobileNum"`
		Mail      string      `json:"mail"`
	} `json:"privateData"`
}

type sde struct {
	Type string `json:"type"`
	// Info is ctmrinfo's: its scalars become session parameters.
	Info     map[string]json.RawMessage `json:"info"`
	Personal *struct {
		FirstName string `json:"firstname"`
		LastName  string `json:"lastname"`
		Gender    string `json:"gender"`
		Company   string `json:"company"`
		Language  string `json:"language"`
		Contacts  []struct {
			Email string      `json:"email"`
			Phone looseString `json:"phone"`
		} `json:"contacts"`
	} `json:"personal"`
}

// profile is what a SetUserProfile means for the AXP session.
type profile struct {
	DisplayName string
	Emails      []string
	Phones      []string
	Params      engagement.Parameters
}

func (p *profile) empty() bool {
	return p.DisplayName == "" && len(p.Emails) == 0 && len(p.Phones) == 0 && len(p.Params) == 0
}

// parseProfile maps the SDEs (personal info, customer info) onto a display
// name, identifiers and session parameters, refusing what AXP would refuse.
func parseProfile(body json.RawMessage) (*profile, *apiError) {
	var up userProfile
	if ae := decodeBody(body, &up, "body", "userprofile.SetUserProfile body"); ae != nil {
		return nil, ae
	}
	p := &profile{Params: engagement.Parameters{}}
	first, last := up.FirstName, up.LastName
	if ae := checkLines("body.firstName", first, "body.lastName", last); ae != nil {
		return nil, ae
	}
	addEmail := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(p.Emails, s) {
			p.Emails = append(p.Emails, s)
		}
	}
	addPhone := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(p.Phones, s) {
			p.Phones = append(p.Phones, s)
		}
	}
	if up.PrivateData != nil {
		addEmail(up.PrivateData.Mail)
		addPhone(string(up.PrivateData.MobileNum))
	}
	if up.UserID != "" {
		p.Params["userId"] = string(up.UserID)
	}
	if up.AuthenticatedData != nil {
		for i, s := range up.AuthenticatedData.SDEs {
			switch s.Type {
			case "personal":
				if s.Personal == nil {
					continue
				}
				at := fmt.Sprintf("body.authenticatedData.lp_sdes[%d].personal.", i)
				if ae := checkLines(at+"firstname", s.Personal.FirstName, at+"lastname", s.Personal.LastName); ae != nil {
					return nil, ae
				}
				if s.Personal.FirstName != "" {
					first = s.Personal.FirstName
				}
				if s.Personal.LastName != "" {
					last = s.Personal.LastName
				}
				for _, c := range s.Personal.Contacts {
					addEmail(c.Email)
					addPhone(string(c.Phone))
				}
				if s.Personal.Gender != "" {
					p.Params["gender"] = s.Personal.Gender
				}
				if s.Personal.Company != "" {
					p.Params["company"] = s.Personal.Company
				}
				if s.Personal.Language != "" {
					p.Params["language"] = s.Personal.Language
				}
			case "ctmrinfo":
				keys := make([]string, 0, len(s.Info))
				for k := range s.Info {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					if v, ok := scalarText(s.Info[k]); ok {
						p.Params[k] = v
					}
				}
			default:
				return nil, badRequest(nil, fmt.Sprintf("body.authenticatedData.lp_sdes[%d].type", i),
					"SDE type %q is not supported (only personal and ctmrinfo)", s.Type)
			}
		}
	}
	p.DisplayName = strings.TrimSpace(first + " " + last)
	if e := checkParams("body", p.Params); e != nil {
		return nil, e
	}
	if len(p.Emails) > maxIdents || len(p.Phones) > maxIdents {
		return nil, badRequest(nil, "body.authenticatedData", "at most %d emails and %d phone numbers", maxIdents, maxIdents)
	}
	for _, v := range append(slices.Clone(p.Emails), p.Phones...) {
		if len([]rune(v)) > maxIdentValue {
			return nil, badRequest(nil, "body.authenticatedData", "a contact is longer than %d characters", maxIdentValue)
		}
	}
	if len([]rune(p.DisplayName)) > 256 {
		return nil, badRequest(nil, "body.firstName", "the name is longer than 256 characters")
	}
	return p, nil
}

// checkParams refuses a parameter map AXP would refuse, naming the field.
func checkParams(field string, p engagement.Parameters) *apiError {
	if len(p) > maxParams {
		return badRequest(nil, field, "%d parameters, at most %d are allowed", len(p), maxParams)
	}
	for k, v := range p {
		if len([]rune(k)) > maxParamKey {
			return badRequest(nil, field+"."+k, "parameter name longer than %d characters", maxParamKey)
		}
		if len([]rune(v)) > maxParamValue {
			return badRequest(nil, field+"."+k, "parameter value longer than %d characters", maxParamValue)
		}
	}
	return nil
}

// requestConversation is cm.ConsumerRequestConversation's body.
// Every id in it may come as a string or a number (looseString).
type requestConversation struct {
	BrandID      *looseString `json:"brandId"`
	ChannelType  string       `json:"channelType"`
	TTRDefName   *string      `json:"ttrDefName"`
	SkillID      looseString  `json:"skillId"`
	CampaignInfo *struct {
		CampaignID   looseString `json:"campaignId"`
		EngagementID looseString `json:"engagementId"`
	} `json:"campaignInfo"`
	// ConversationContext's routing keys; the rest (features, custom
	// fields of other context types) is ignored.
	ConversationContext *struct {
		Lang                 looseString `json:"lang"`
		VisitorID            looseString `json:"visitorId"`
		SessionID            looseString `json:"sessionId"`
		InteractionContextID looseString `json:"interactionContextId"`
		Type                 looseString `json:"type"`
	} `json:"conversationContext"`
}

// conversationRequest is what a ConsumerRequestConversation asks of AXP.
type conversationRequest struct {
	Conversation string
	Params       engagement.Parameters
	SkillID      string
}

func parseRequestConversation(account string, body json.RawMessage) (*conversationRequest, *apiError) {
	var rc requestConversation
	if ae := decodeBody(body, &rc, "body", "cm.ConsumerRequestConversation body"); ae != nil {
		return nil, ae
	}
	if rc.BrandID == nil || *rc.BrandID == "" {
		return nil, missing(nil, "body.brandId")
	}
	if string(*rc.BrandID) != account {
		return nil, badRequest(nil, "body.brandId", "brandId %q is not the account %q of the path", *rc.BrandID, account)
	}
	if rc.ChannelType != "" && rc.ChannelType != "MESSAGING" {
		return nil, badRequest(nil, "body.channelType", "channelType %q: only MESSAGING is supported", rc.ChannelType)
	}
	out := &conversationRequest{Params: engagement.Parameters{}}
	if skill := string(rc.SkillID); skill != "" && skill != "-1" {
		out.SkillID = skill
		out.Conversation = skill
		out.Params["skillId"] = skill
	}
	if rc.TTRDefName != nil && *rc.TTRDefName != "" {
		switch *rc.TTRDefName {
		case "NORMAL", "URGENT", "PRIORITIZED", "CUSTOM":
			out.Params["ttrDefName"] = *rc.TTRDefName
		default:
			return nil, badRequest(nil, "body.ttrDefName", "ttrDefName %q is not NORMAL, URGENT or PRIORITIZED", *rc.TTRDefName)
		}
	}
	if ci := rc.CampaignInfo; ci != nil {
		setParam(out.Params, "campaignId", ci.CampaignID)
		setParam(out.Params, "engagementId", ci.EngagementID)
	}
	if cc := rc.ConversationContext; cc != nil {
		setParam(out.Params, "language", cc.Lang)
		setParam(out.Params, "visitorId", cc.VisitorID)
		setParam(out.Params, "sessionId", cc.SessionID)
		setParam(out.Params, "interactionContextId", cc.InteractionContextID)
		setParam(out.Params, "contextType", cc.Type)
	}
	if len([]rune(out.Conversation)) > 256 {
		return nil, badRequest(nil, "body.skillId", "skillId longer than 256 characters")
	}
	if e := checkParams("body", out.Params); e != nil {
		return nil, e
	}
	return out, nil
}

func setParam(p engagement.Parameters, k string, v looseString) {
	if v != "" {
		p[k] = string(v)
	}
}

// scalarText is a ctmrinfo value as a session parameter: strings as they
// are, numbers as written, booleans as true/false; lists, objects and null
// say nothing a parameter can hold.
func scalarText(raw json.RawMessage) (string, bool) {
	var s looseString
	if len(raw) > 0 && (raw[0] == 't' || raw[0] == 'f') {
		return string(raw), string(raw) == "true" || string(raw) == "false"
	}
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return "", false
	}
	return string(s), true
}
