package main

// Value pools for the Didomi generator. Everything here is fake: e-mail
// domains are the reserved example.* names, IPs come from documentation
// ranges (RFC 5737).

var countries = []string{
	"FR", "FR", "FR", "FR", "DE", "DE", "ES", "IT", "GB", "GB", "US", "US", "NL",
	"BE", "CH", "PT", "PL", "SE", "IE", "AT", "DK", "CA", "BR", "JP", "AU",
}

var purposePool = []string{
	"cookies", "analytics", "marketing_emails", "geolocation_data",
	"select_basic_ads", "create_ads_profile", "measure_ad_performance",
	"improve_products", "newsletter", "personalization-Hk9dPq2x",
	"phone_calls", "sms_marketing", "partners_sharing-W7mRtz3C",
}

var vendorPool = []string{
	"google", "c:acme-analytics", "755", "28", "52", "91", "132", "c:hotjar",
	"c:youtube", "c:facebook-pixel", "c:mixpanel", "c:salesforce-dmp",
	"c:criteo-Ff8rTqXb", "21", "25", "32", "45", "76", "793", "c:matomo",
}

var channelPool = []string{"email", "sms", "push", "phone", "postal_mail"}

var prefPool = []struct {
	id     string
	values []string
}{
	{"newsletter_frequency", []string{"daily", "weekly", "monthly"}},
	{"topics", []string{"sports", "culture,politics", "tech,science,health", ""}},
	{"preferred_language", []string{"fr", "en", "de", "es"}},
	{"favorite_store", []string{"paris-15", "lyon-part-dieu", "online"}},
	{"contact_time", []string{"morning", "evening"}},
}

var firstNames = []string{
	"camille", "lea", "hugo", "lucas", "emma", "louis", "chloe", "jules",
	"ines", "noah", "sofia", "marco", "anna", "jan", "olivia", "liam", "zoe",
}

var lastNames = []string{
	"martin", "bernard", "dubois", "thomas", "robert", "richard", "petit",
	"durand", "leroy", "moreau", "muller", "schmidt", "rossi", "garcia", "smith",
}

var emailDomains = []string{"example.com", "example.org", "example.net", "mail.example.fr"}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
	"AcmeApp/4.12.1 (Android 14; Pixel 8)",
}

var sources = []string{"web", "app", "crm_import", "call_center", "store"}

var utmSources = []string{"newsletter", "google", "facebook", "partner_site"}

var proofExts = []string{"pdf", "png", "jpg", "gif", "docx", "doc", "msg"}

var delegateNames = []string{
	"Support agent Marie L.", "Store 0042 - Lyon", "Call center (outsourced)", "DPO office",
}

var organizations = []string{"acme-media", "globex-news", "initech-retail", "umbrella-shop"}

// Unknown (not documented) fields Didomi might add; the pipeline must keep
// them in its `extra` column.
var unknownUserKeys = []string{"ab_test", "source_system", "import_batch"}
var unknownEventKeys = []string{"source", "sdk_version"}
