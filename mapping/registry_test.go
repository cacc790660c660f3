package mapping

import (
	"reflect"
	"testing"
	"time"
)

// TestConversationEqualSeesEveryField changes each field of a conversation
// in turn: a field Equal forgot would let a change go unwritten.
func TestConversationEqualSeesEveryField(t *testing.T) {
	base := conv(alice, "d1", time.Unix(1, 0))
	base.Version = 3
	if !base.Equal(base.Clone()) {
		t.Fatal("a conversation must equal its clone")
	}
	typ := reflect.TypeOf(*base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			c := base.Clone()
			v := reflect.ValueOf(c).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString(v.String() + "x")
			case reflect.Uint64:
				v.SetUint(v.Uint() + 1)
			case reflect.Map:
				c.Attrs["features"] += "x"
			case reflect.Struct:
				switch x := v.Addr().Interface().(type) {
				case *time.Time:
					*x = x.Add(time.Second)
				case *ConsumerKey:
					x.Consumer += "x"
				default:
					t.Fatalf("no way to change a %s here", f.Type)
				}
			default:
				t.Fatalf("no way to change a %s here", f.Type)
			}
			if c.Equal(base) || base.Equal(c) {
				t.Fatalf("a change of %s was not seen", f.Name)
			}
		})
	}
}
