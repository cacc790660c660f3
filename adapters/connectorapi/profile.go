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
type userProfile struct {
	FirstName         string `json:"firstName"`
	LastName          string `json:"lastName"`
	UserID            string `json:"userId"`
	AuthenticatedData *struct {
		SDEs []sde `json:"lp_sdes"`
	} `json:"authenticatedData"`
	PrivateData *struct {
		MobileNum string `json:"mobileNum"`
		Mail      string `json:"mail"`
	} `json:"privateData"`
}

type sde struct {
	Type     string         `json:"type"`
	Info     map[string]any `json:"info"`
	Personal *struct {
		FirstName string `json:"firstname"`
		LastName  string `json:"lastname"`
		Gender    string `json:"gender"`
		Company   string `json:"company"`
		Language  string `json:"language"`
		Contacts  []struct {
			Email string `json:"email"`
			Phone string `json:"phone"`
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
	if err := json.Unmarshal(body, &up); err != nil {
		return nil, badRequest(nil, "body", "userprofile.SetUserProfile body: %v", err)
	}
	p := &profile{Params: engagement.Parameters{}}
	first, last := up.FirstName, up.LastName
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
		addPhone(up.PrivateData.MobileNum)
	}
	if up.UserID != "" {
		p.Params["userId"] = up.UserID
	}
	if up.AuthenticatedData != nil {
		for i, s := range up.AuthenticatedData.SDEs {
			switch s.Type {
			case "personal":
				if s.Personal == nil {
					continue
				}
				if s.Personal.FirstName != "" {
					first = s.Personal.FirstName
				}
				if s.Personal.LastName != "" {
					last = s.Personal.LastName
				}
				for _, c := range s.Personal.Contacts {
					addEmail(c.Email)
					addPhone(c.Phone)
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
					switch v := s.Info[k].(type) {
					case string:
						p.Params[k] = v
					case float64, bool:
						p.Params[k] = fmt.Sprint(v)
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
type requestConversation struct {
	BrandID      *string `json:"brandId"`
	ChannelType  string  `json:"channelType"`
	TTRDefName   *string `json:"ttrDefName"`
	SkillID      string  `json:"skillId"`
	CampaignInfo *struct {
		CampaignID   string `json:"campaignId"`
		EngagementID string `json:"engagementId"`
	} `json:"campaignInfo"`
	ConversationContext map[string]any `json:"conversationContext"`
}

// conversationRequest is what a ConsumerRequestConversation asks of AXP.
type conversationRequest struct {
	Conversation string
	Params       engagement.Parameters
	SkillID      string
}

func parseRequestConversation(account string, body json.RawMessage) (*conversationRequest, *apiError) {
	var rc requestConversation
	if err := json.Unmarshal(body, &rc); err != nil {
		return nil, badRequest(nil, "body", "cm.ConsumerRequestConversation body: %v", err)
	}
	if rc.BrandID == nil || *rc.BrandID == "" {
		return nil, missing(nil, "body.brandId")
	}
	if *rc.BrandID != account {
		return nil, badRequest(nil, "body.brandId", "brandId %q is not the account %q of the path", *rc.BrandID, account)
	}
	if rc.ChannelType != "" && rc.ChannelType != "MESSAGING" {
		return nil, badRequest(nil, "body.channelType", "channelType %q: only MESSAGING is supported", rc.ChannelType)
	}
	out := &conversationRequest{Params: engagement.Parameters{}}
	if rc.SkillID != "" && rc.SkillID != "-1" {
		out.SkillID = rc.SkillID
		out.Conversation = rc.SkillID
		out.Params["skillId"] = rc.SkillID
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
		if ci.CampaignID != "" {
			out.Params["campaignId"] = ci.CampaignID
		}
		if ci.EngagementID != "" {
			out.Params["engagementId"] = ci.EngagementID
		}
	}
	for k, v := range rc.ConversationContext {
		s, ok := v.(string)
		if !ok || s == "" {
			continue // features and other lists say nothing to routing
		}
		switch k {
		case "lang":
			out.Params["language"] = s
		case "visitorId", "sessionId", "interactionContextId":
			out.Params[k] = s
		case "type":
			out.Params["contextType"] = s
		}
	}
	if len([]rune(out.Conversation)) > 256 {
		return nil, badRequest(nil, "body.skillId", "skillId longer than 256 characters")
	}
	if e := checkParams("body", out.Params); e != nil {
		return nil, e
	}
	return out, nil
}
