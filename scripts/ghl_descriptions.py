"""Our own one-line descriptions for catalogue operations whose spec title is not enough.

Keys are catalogue ids. Titles that repeat across groups ("Create Note", "Get Agent")
or that say too little ("Search", "Get notification") get a line here.
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    "contacts.add_followers_contact": "Add followers to a contact",
    "contacts.remove_followers_contact": "Remove followers from a contact",
    "opportunities.add_followers_opportunity": "Add followers to an opportunity",
    "opportunities.remove_followers_opportunity": "Remove followers from an opportunity",
    "contacts.create_note": "Add a note to a contact",
    "contacts.update_note": "Change a note on a contact",
    "contacts.delete_note": "Delete a note from a contact",
    "calendars.create_appointment_note": "Add a note to an appointment",
    "calendars.update_appointment_note": "Change a note on an appointment",
    "calendars.delete_appointment_note": "Delete a note from an appointment",
    "custom_fields.create_custom_field": "Create a custom field of a custom object",
    "locations.create_custom_field": "Create a contact or opportunity custom field",
    "agent_studio.createagent": "Create an Agent Studio agent",
    "agent_studio.getagentbyid": "Get an Agent Studio agent",
    "agent_studio.getagents": "List Agent Studio agents",
    "agent_studio.deleteagent": "Delete an Agent Studio agent",
    "agent_studio.updateagentversion": "Update a version of an Agent Studio agent",
    "voice_ai.create_agent": "Create a Voice AI agent",
    "voice_ai.get_agent": "Get a Voice AI agent",
    "voice_ai.get_agents": "List Voice AI agents",
    "voice_ai.delete_agent": "Delete a Voice AI agent",
    "conversation_ai.get_agent": "Get a Conversation AI agent",
    "conversation_ai.update_agent": "Update a Conversation AI agent",
    "conversation_ai.delete_agent": "Delete a Conversation AI agent",
    "ad_manager.fb_delete_ad_account": "Disconnect a Facebook ad account",
    "ad_manager.google_delete_ad_account": "Disconnect a Google Ads account",
    "ad_manager.li_delete_ad_account": "Disconnect the LinkedIn ad account",
    "ad_manager.fb_get_ad_account": "Get a Facebook ad account's details",
    "ad_manager.google_get_ad_account_details": "Get a Google Ads account's details",
    "ad_manager.li_get_ad_account_details": "Get the LinkedIn ad account's details",
    "ad_manager.fb_get_campaign_reporting": "Reporting for one Facebook ad campaign",
    "ad_manager.google_get_campaign_reporting": "Reporting for one Google Ads campaign",
    "ad_manager.fb_get_entity": "Get Facebook ad entities (campaigns, ad sets, ads)",
    "ad_manager.google_get_entity": "Get Google Ads entities (campaigns, ad groups, ads)",
    "ad_manager.fb_get_pages": "List Facebook pages available to the ad account",
    "ad_manager.fb_get_reporting": "Facebook ads reporting data",
    "ad_manager.google_get_reporting": "Google Ads reporting data",
    "ad_manager.fb_get_reporting_list": "Facebook ads reporting, as a list",
    "ad_manager.google_get_reporting_list": "Google Ads reporting, as a list",
    "ad_manager.li_get_reporting_list": "LinkedIn ads reporting, as a list",
    "ad_manager.fb_search_targeting": "Search Facebook ad targeting options",
    "ad_manager.google_search_targeting": "Search Google Ads targeting options",
    "ad_manager.li_search_targeting": "Search LinkedIn ad targeting options",
    "social_media_posting.get_facebook_page_group": "List a social account's Facebook pages",
    "campaigns.get_campaigns": "List the sub-account's campaigns",
    "emails.fetch_campaigns": "List scheduled email campaigns",
    "invoices.list_invoice_templates": "List invoice templates",
    "proposals.list_documents_contracts_templates": "List document and contract templates",
    "products.update_product_review": "Update one product review",
    "products.bulk_update_product_review": "Update several product reviews at once",
    "invoices.update_invoice_template_late_fees_configuration": "Set a template's late fees",
    "invoices.update_invoice_payment_methods_configuration": "Set a template's payment methods",
    "locations.search_locations": "Search sub-accounts by name or email",
    "calendars.get_event_notification": "List a calendar's notification settings",
    "calendars.find_event_notification": "Get a calendar notification setting",
    "calendars.create_event_notification": "Add a notification setting to a calendar",
    "calendars.update_event_notification": "Change a calendar notification setting",
    "calendars.delete_event_notification": "Delete a calendar notification setting",
    "conversations.add_an_outbound_message": "Record an outbound call made outside GHL",
    # Everyday operations whose titles miss the words people use for them.
    "conversations.send_a_new_message": (
        "Send a message to a contact: SMS text, email, WhatsApp, chat or social DM"
    ),
    "conversations.search_conversation": "Find conversations (inbox threads): unread, starred",
    "conversations.get_messages": "Read the messages of a conversation (its history)",
    "conversations.add_an_inbound_message": "Record an incoming message received outside GHL",
    "contacts.search_contacts_advanced": (
        "Find contacts by name, email, phone number, company, tag or any field"
    ),
    "contacts.update_contact": "Change a contact's details: name, email, phone, address, fields",
    "contacts.create_task": "Create a task (to-do, reminder) on a contact",
    "contacts.get_all_tasks": "List the tasks on a contact",
    "calendars.get_calendar_events": (
        "List the appointments (events) of a calendar, user or group between two times"
    ),
    "calendars.get_calendars": "List the sub-account's calendars",
    "calendars.create_appointment": "Book an appointment on a calendar",
    "calendars.edit_appointment": (
        "Change an appointment: reschedule it, or cancel or confirm it (its status)"
    ),
    "calendars.delete_event": "Delete an appointment or blocked slot (a calendar event)",
    "social_media_posting.create_post": (
        "Publish or schedule a post on the connected social accounts (Facebook, Instagram, "
        "LinkedIn, Google, TikTok)"
    ),
    "users.get_user_by_location": "List the sub-account's users (team members, staff)",
    "users.update_user": "Change a user's name, email, phone, role or permissions",
    "businesses.create_business": "Create a business (company) record",
    "businesses.get_businesses_by_location": "List the businesses (companies)",
    "locations.get_location_tags": "List the tags of the sub-account",
    "locations.get_custom_fields": "List the custom fields of contacts or opportunities",
    "products.create_product": "Create a product (for the store, invoices and payment links)",
    "payments.list_orders": "List orders (purchases)",
    "medias.fetch_media_content": "List the files and folders in media storage",
    "medias.upload_media_content": "Upload a file (image, video, document) to media storage",
    "locations.get_location": (
        "Get the sub-account's details: business name, address, phone, email, time zone"
    ),
    "phone_system.active_numbers": "List the sub-account's phone numbers",
}
