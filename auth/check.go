package auth

// CheckApp reports what is wrong with an app's configuration, the same
// checks New makes, so that the configuration loader can name the app.
func CheckApp(a App) error {
	_, err := a.withDefaults()
	return err
}
