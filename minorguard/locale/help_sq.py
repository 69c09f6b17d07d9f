"""The command line's --help in Albanian, keyed by the English help text (as gettext keys by msgid).

The English texts stay beside the options they describe; ``minorguard.cli.help`` swaps
them for these when the command runs with ``--lang sq`` (the default).
``tests/test_cli_help.py`` fails when an option's English text has no entry here.
"""

HELP_SQ: dict[str, str] = {
    # minorguard, scan, export, review, models
    "minorguard: keep identifiable minors out of published photos (rule 5).":
        "minorguard: mban jashtë fotove të publikuara të miturit që mund të identifikohen (rregulli 5).",
    "Check photos for identifiable minors. Exit code: 0 all PASS, 1 REVIEW, 2 BLOCK or ERROR, 64 usage error, "
    "70 internal error, 130 interrupted (Ctrl-C).":
        "Kontrollon fotot për të mitur që mund të identifikohen. Kodi i daljes: 0 të gjitha PASS, 1 REVIEW, 2 BLOCK ose ERROR, "
        "64 gabim përdorimi, 70 gabim i brendshëm, 130 u ndërpre (Ctrl-C).",
    "Photos or folders to check.": "Fotot ose dosjet për t'u kontrolluar.",
    "Descend into sub-folders.": "Përfshin edhe nëndosjet.",
    "Descend into sub-folders (mirrored).": "Përfshin edhe nëndosjet (me të njëjtën strukturë në dalje).",
    "Write the full results as JSON.": "Shkruan të gjitha rezultatet si JSON.",
    "Write one row per face as CSV.": "Shkruan një rresht për çdo fytyrë si CSV.",
    "Write one self-contained HTML report with previews.": "Shkruan një raport HTML të vetëmjaftueshëm me pamje paraprake.",
    "Policy TOML overriding the defaults.": "Skedar politike TOML që zëvendëson vlerat e paracaktuara.",
    "'default' or a folder of insightface ONNX models.": "'default' ose një dosje me modele ONNX të insightface.",
    "Photos checked at once (0: all cores).": "Fotot që kontrollohen njëkohësisht (0: të gjitha bërthamat).",
    "Photos prepared at once (0: all cores).": "Fotot që përgatiten njëkohësisht (0: të gjitha bërthamat).",
    "Language of messages (sq or en).": "Gjuha e mesazheve (sq ose en).",
    "Language of the page (sq or en).": "Gjuha e faqes (sq ose en).",
    "Where it will be published (facebook, instagram, ...); faces are judged at that channel's size.": "Ku do të publikohet (facebook, instagram, ...); fytyrat gjykohen në madhësinë e atij kanali.",
    "Where it will be published; faces are judged at that channel's size.": "Ku do të publikohet; fytyrat gjykohen në madhësinë e atij kanali.",
    "Where the photos will be published; faces are judged at that channel's size.": "Ku do të publikohen fotot; fytyrat gjykohen në madhësinë e atij kanali.",
    "Publication date YYYY-MM-DD (default today).": "Data e publikimit VVVV-MM-DD (e paracaktuar: sot).",
    "Event id the photos belong to.": "Id e ngjarjes ku bëjnë pjesë fotot.",
    "What the photos are published for; consents limited to purposes must list it.":
        "Për çfarë publikohen fotot; lejet e kufizuara në qëllime duhet ta përmbajnë.",
    "Register (consent, events): file path or database URL.": "Regjistri (lejet, ngjarjet): shtegu i skedarit ose URL e bazës së të dhënave.",
    "Register (consent, events, reviews): file path or URL.": "Regjistri (lejet, ngjarjet, shqyrtimet): shtegu i skedarit ose URL.",
    "Group the faces to decide by person (default: when --json or --html is written).":
        "Grupon sipas personit fytyrat që duhen vendosur (e paracaktuar: kur shkruhet --json ose --html).",
    "Write copies with identifiable minors hidden, checked again. Exit code: 0 all exported, "
    "1 some outputs existed (not overwritten), 2 some refused or failed, 64 usage or output-folder error, "
    "70 internal error, 130 interrupted (Ctrl-C; the copies already made are kept, with their manifest).":
        "Shkruan kopje me të miturit e identifikueshëm të fshehur, të kontrolluara përsëri. Kodi i daljes: 0 të gjitha u eksportuan, "
        "1 disa kopje ekzistonin (nuk u mbishkruan), 2 disa u refuzuan ose dështuan, 64 gabim përdorimi ose i dosjes së daljes, "
        "70 gabim i brendshëm, 130 u ndërpre (Ctrl-C; kopjet e bëra deri atëherë mbeten, me manifestin e tyre).",
    "Photos or folders to export.": "Fotot ose dosjet për t'u eksportuar.",
    "Folder for the copies and minorguard-manifest.json.": "Dosja për kopjet dhe minorguard-manifest.json.",
    "Which faces to hide.": "Cilat fytyra të fshihen.",
    "How hidden faces are painted.": "Si mbulohen fytyrat e fshehura.",
    "Leave faces that need REVIEW visible.": "Lë të dukshme fytyrat që kërkojnë REVIEW.",
    "Replace copies already in the output folder.": "Zëvendëson kopjet që ndodhen tashmë në dosjen e daljes.",
    "Review flagged faces in the browser: mark adult, link to a consent, or hide. Decisions are kept "
    "in the register (audited) and applied by later scans and exports. Stop with Ctrl-C.":
        "Shqyrtoni në shfletues fytyrat e shënuara: i rritur, lidhje me një leje, ose fshihe. Vendimet ruhen "
        "në regjistër (me auditim) dhe zbatohen në skanimet dhe eksportet e mëvonshme. Ndalet me Ctrl-C.",
    "A folder of photos (scanned now) or a scan result from `scan --json`.":
        "Një dosje me foto (skanohet tani) ose një rezultat skanimi nga `scan --json`.",
    "Register: file path or database URL (default: your data folder).":
        "Regjistri: shtegu i skedarit ose URL e bazës së të dhënave (e paracaktuar: dosja juaj e të dhënave).",
    "Port on 127.0.0.1 (0: any free one).": "Porta në 127.0.0.1 (0: çdo portë e lirë).",
    "Open the page in the default browser.": "Hap faqen në shfletuesin e paracaktuar.",
    "List the model pack in use: every file, its sha256 and licence.":
        "Liston paketën e modeleve në përdorim: çdo skedar, sha256 dhe licencën e tij.",
    # the register: common options
    "Register: file path or database URL (default $MINORGUARD_DB or the user's data folder).":
        "Regjistri: shtegu i skedarit ose URL e bazës së të dhënave (e paracaktuar: $MINORGUARD_DB ose dosja e të dhënave të përdoruesit).",
    "Who is acting (written to the audit log; default $MINORGUARD_ACTOR or the login name).":
        "Kush vepron (shkruhet në ditarin e auditimit; e paracaktuar: $MINORGUARD_ACTOR ose emri i hyrjes).",
    "Who adds or removes (default $MINORGUARD_ACTOR or the login name).":
        "Kush shton ose heq (e paracaktuar: $MINORGUARD_ACTOR ose emri i hyrjes).",
    "Who declares or changes it (default $MINORGUARD_ACTOR or the login name).":
        "Kush e deklaron ose e ndryshon (e paracaktuar: $MINORGUARD_ACTOR ose emri i hyrjes).",
    # children
    "Children in the consent register: add, list, show, enrol photos, erase photos, never-publish, erase a record.":
        "Fëmijët në regjistrin e lejeve: shto, listo, shfaq, regjistro foto, fshi fotot, mos publiko kurrë, fshi një regjistrim.",
    "Add a child; prints the child's id (the pseudonymous reference used in reports). A child of the same name "
    "(case, spaces and accents typed either way) and date of birth is refused, naming the one there.":
        "Shton një fëmijë; shfaq id-në e fëmijës (referenca me pseudonim që përdoret në raporte). Një fëmijë me të njëjtin emër "
        "(shkronja të mëdha ose të vogla, hapësira dhe shenja si të shtypen) dhe të njëjtën datëlindje refuzohet, duke emërtuar atë që është.",
    "Add it although a child of the same name and date of birth is in the register: you say it is a different child.":
        "Shtoje edhe pse në regjistër ka një fëmijë me të njëjtin emër dhe datëlindje: ju pohoni se është një fëmijë tjetër.",
    "The child's full name.": "Emri i plotë i fëmijës.",
    "Date of birth YYYY-MM-DD.": "Data e lindjes VVVV-MM-DD.",
    "Turn reference photos into face embeddings (stored encrypted). Stops at the first refused photo.":
        "Kthen fotot e referencës në gjurmë fytyre (ruhen të enkriptuara). Ndalet te fotoja e parë e refuzuar.",
    "Reference photos of the child (one face each, or use --face).": "Foto referimi të fëmijës (një fytyrë secila, ose përdorni --face).",
    "Which face to take when a photo shows several: the number a scan shows (1 = leftmost).": "Cila fytyrë të merret kur fotoja ka disa: numri që tregon skanimi (1 = më e majta).",
    "The policy the scan used: --face counts the faces it finds.": "Politika që përdori skanimi: --face numëron fytyrat që gjen ajo.",
    "Enrol although the age estimate calls the face an adult: you vouch that it is the child.": "Regjistroje edhe pse vlerësimi i moshës e quan fytyrën të rritur: ju garantoni që është fëmija.",
    "Every child with consent status and enrolment count.": "Çdo fëmijë me gjendjen e lejes dhe numrin e fotove të regjistruara.",
    "Mark a child never to be published, whatever consent exists (or --off to clear: with no consent in force, the "
    "child's enrolment photos and face embeddings are then erased, as a withdrawal erases them).":
        "Shënon një fëmijë që nuk duhet publikuar kurrë, pavarësisht lejeve (ose --off për ta hequr: kur nuk ka leje në fuqi, "
        "fotot e regjistrimit dhe gjurmët e fytyrës së fëmijës fshihen atëherë, ashtu si i fshin një tërheqje e lejes).",
    "Erase a child's enrolment photos and face embeddings now (audited; no copy is left in the register's files). "
    "Refused for a child on the never-publish list: the photos are what recognises the child.":
        "Fshin tani fotot e regjistrimit dhe gjurmët e fytyrës së një fëmije (shënohet në ditarin e auditimit; nuk mbetet asnjë "
        "kopje në skedarët e regjistrit). Refuzohet për një fëmijë në listën «mos publiko kurrë»: fotot janë ato që e njohin fëmijën.",
    "Why (written to the audit log).": "Pse (shkruhet në ditarin e auditimit).",
    "Why (for example a custody or safeguarding case).": "Pse (për shembull një çështje kujdestarie ose mbrojtjeje).",
    "Clear the flag.": "Heq shënimin.",
    "One child: guardians, consents (scope, validity, status) and enrolment count; never biometric data.":
        "Një fëmijë: prindërit/kujdestarët, lejet (shtrirja, vlefshmëria, gjendja) dhe numri i fotove të regjistruara; kurrë të dhëna biometrike.",
    # guardians
    "Parents and guardians of enrolled children.": "Prindërit dhe kujdestarët e fëmijëve të regjistruar.",
    "Add a parent or guardian of a child; prints the guardian's id.": "Shton një prind ose kujdestar të fëmijës; shfaq id-në e tij.",
    "The guardian's full name.": "Emri i plotë i prindit/kujdestarit.",
    "mother, father, legal guardian, ...": "nëna, babai, kujdestari ligjor, ...",
    "Phone or e-mail.": "Telefoni ose e-maili.",
    # consents
    "Signed consent forms: add, withdraw, list.": "Formularët e nënshkruar të lejes: shto, tërhiq, listo.",
    "Record a signed consent form; prints the record id that scan decisions will cite.":
        "Regjistron një formular leje të nënshkruar; shfaq id-në e lejes që do të citojnë vendimet e skanimit.",
    "The signed form: PDF or image scan (stored encrypted).": "Formulari i nënshkruar: PDF ose imazh i skanuar (ruhet i enkriptuar).",
    "Date the form was signed, YYYY-MM-DD (default today).": "Data kur u nënshkrua formulari, VVVV-MM-DD (e paracaktuar: sot).",
    "facebook, instagram, x, youtube, tiktok, website, print or all; repeat or comma-separate.":
        "facebook, instagram, x, youtube, tiktok, website, print ose all; përsëritni ose ndani me presje.",
    "What the photos may be used for (free text; repeatable).": "Për çfarë mund të përdoren fotot (tekst i lirë; mund të përsëritet).",
    "Limit the consent to these event ids (repeatable).": "Kufizon lejen te këto id ngjarjesh (mund të përsëritet).",
    "First day of validity (default the signing date).": "Dita e parë e vlefshmërisë (e paracaktuar: data e nënshkrimit).",
    "Last day of validity (default open-ended).": "Dita e fundit e vlefshmërisë (e paracaktuar: pa afat).",
    "Guardian id who signed.": "Id e prindit/kujdestarit që nënshkroi.",
    "Every consent record with its scope, validity and status.": "Çdo leje me shtrirjen, vlefshmërinë dhe gjendjen e saj.",
    "Only this child's records.": "Vetëm lejet e këtij fëmije.",
    "Why (required; for example: parent asked by phone).": "Pse (e detyrueshme; për shembull: prindi e kërkoi me telefon).",
    "Date of withdrawal (default today).": "Data e tërheqjes (e paracaktuar: sot).",
    # events
    "Declare public/outdoor events (rule 5's exemption) and list them.":
        "Deklaroni ngjarje publike/në ambient të hapur (përjashtimi i rregullit 5) dhe listojini.",
    "Declare an event; with --basis public or outdoor its photos are exempt from rule 5.":
        "Deklaron një ngjarje; me --basis public ose outdoor fotot e saj përjashtohen nga rregulli 5.",
    "Name of the event.": "Emri i ngjarjes.",
    "Start, YYYY-MM-DDTHH:MM (in --tz unless an offset is written).": "Fillimi, VVVV-MM-DDTOO:MM (në --tz, përveç kur shkruhet zhvendosja).",
    "End, YYYY-MM-DDTHH:MM.": "Mbarimi, VVVV-MM-DDTOO:MM.",
    "IANA time zone of the event.": "Zona kohore IANA e ngjarjes.",
    "Name of the place.": "Emri i vendit.",
    "Latitude of the place (-90..90).": "Gjerësia gjeografike e vendit (-90..90).",
    "Longitude of the place (-180..180).": "Gjatësia gjeografike e vendit (-180..180).",
    "Radius around lat/lon in metres (default 1000 when linking).": "Rrezja rreth lat/lon në metra (e paracaktuar 1000 gjatë lidhjes).",
    "Basis of the exemption: public, outdoor or none.": "Baza e përjashtimit: public, outdoor ose none.",
    "Why the event is public or outdoor (required with a basis).": "Pse ngjarja është publike ose në ambient të hapur (e detyrueshme me një bazë).",
    "Id to give the event (default: generated).": "Id që i jepet ngjarjes (e paracaktuar: e krijuar automatikisht).",
    "Event id.": "Id e ngjarjes.",
    "Events in the register, earliest first.": "Ngjarjet në regjistër, më e hershmja e para.",
    "Include closed events.": "Përfshin edhe ngjarjet e mbyllura.",
    "One event with who declared it, when, and why.": "Një ngjarje, me kush e deklaroi, kur dhe pse.",
    "Change an event (every change is audited; a new basis is a new declaration).":
        "Ndryshon një ngjarje (çdo ndryshim auditohet; një bazë e re është deklaratë e re).",
    "New time zone; --start/--end are read in it.": "Zonë kohore e re; --start/--end lexohen në të.",
    "New basis: public, outdoor or none (a new declaration).": "Bazë e re: public, outdoor ose none (deklaratë e re).",
    # the whole register, audit
    "Erase a child's record on request: name, date of birth, guardians, signed forms, enrolment photos and face "
    "embeddings; consents in force are withdrawn first. The id and the consents' dates and form digests stay for the "
    "audit log. Refused for a child on the never-publish list.":
        "Fshin me kërkesë regjistrimin e një fëmije: emrin, datëlindjen, prindërit/kujdestarët, formularët e nënshkruar, "
        "fotot e regjistrimit dhe gjurmët e fytyrës; lejet në fuqi tërhiqen më parë. Id-ja dhe datat e lejeve e gjurmët e "
        "formularëve mbeten për ditarin e auditimit. Refuzohet për një fëmijë në listën «mos publiko kurrë».",
    "Why (for example the parent's request and its date; sealed in the audit log).":
        "Pse (për shembull kërkesa e prindit dhe data e saj; e mbyllur në ditarin e auditimit).",
    "Erase for good (there is no undo).": "Fshin përgjithmonë (nuk ka kthim pas).",
    "The whole register: export (no biometric data), import from CSV, rotate its key.": "I gjithë regjistri: eksport (pa të dhëna biometrike), import nga CSV, ndërrim i çelësit.",
    "Encrypt the whole register under a new key and replace the key file (when the key may have been copied); the old "
    "key is kept in a separate file for earlier backups (audited).":
        "Enkripton të gjithë regjistrin me një çelës të ri dhe zëvendëson skedarin e çelësit (kur çelësi mund të jetë kopjuar); "
        "çelësi i vjetër ruhet në një skedar më vete për kopjet rezervë të mëparshme (shënohet në auditim).",
    "Export children, guardians and consents: no photos, embeddings or documents (their sha256 only).":
        "Eksporton fëmijët, prindërit/kujdestarët dhe lejet: pa foto, gjurmë fytyre ose dokumente (vetëm sha256 e tyre).",
    "json (nested) or csv (one row per consent).": "json (i strukturuar) ose csv (një rresht për çdo leje).",
    "File to write (default: standard output).": "Skedari ku shkruhet (i paracaktuar: dalja standarde).",
    "Import consent records from an office's CSV: all rows or none.": "Importon lejet nga CSV i një zyre: të gjitha rreshtat ose asnjë.",
    "CSV file, one row per signed form (columns in the README).": "Skedar CSV, një rresht për çdo formular të nënshkruar (kolonat në README).",
    "The register's hash-chained audit log.": "Ditari i auditimit i regjistrit, i lidhur me zinxhir hash-esh.",
    "Check the hash chain: exit 0 if intact, 1 if an entry was changed or removed.":
        "Kontrollon zinxhirin e hash-eve: del me 0 nëse është i paprekur, 1 nëse një regjistrim u ndryshua ose u hoq.",
    # known adults
    "Known adults (staff, officials): recognised as adults at scan time when the age model is unsure.":
        "Të rriturit e njohur (stafi, zyrtarët): njihen si të rritur gjatë skanimit kur modeli i moshës është i pasigurt.",
    "Enrol an adult from reference photos (only face embeddings are kept, encrypted).":
        "Regjistron një të rritur nga foto referimi (ruhen vetëm gjurmët e fytyrës, të enkriptuara).",
    "Full name, as the report will show it.": "Emri i plotë, siç do ta shfaqë raporti.",
    "Reference photo (repeat for several); one face each.": "Foto referimi (përsëriteni për disa); një fytyrë secila.",
    "Which face of a photo with several, counted left to right.": "Cila fytyrë e një fotoje me disa, duke numëruar nga e majta në të djathtë.",
    "Role, e.g. 'minister', 'teacher at partner school'.": "Roli, p.sh. 'ministër', 'mësues në shkollën partnere'.",
    "Last day the record may be used, YYYY-MM-DD.": "Dita e fundit kur mund të përdoret regjistrimi, VVVV-MM-DD.",
    "Enrol although the age model calls the face a possible minor: you vouch that the person is an adult.":
        "Regjistron edhe pse modeli i moshës e quan fytyrën të mitur të mundshëm: ju garantoni që personi është i rritur.",
    "Known adults, oldest first; expired ones are marked and never used.":
        "Të rriturit e njohur, më i vjetri i pari; të skaduarit shënohen dhe nuk përdoren kurrë.",
    "Include expired known adults.": "Përfshin edhe të rriturit e njohur të skaduar.",
    "Remove a known adult; their face embeddings are erased, the audit log keeps the removal.":
        "Heq një të rritur të njohur; gjurmët e fytyrës fshihen, ditari i auditimit ruan heqjen.",
    "Id of the known adult (see `minorguard adult list --all`).": "Id e të rriturit të njohur (shihni `minorguard adult list --all`).",
    # serve, key
    "API keys of the tools that call `minorguard serve`.": "Çelësat API të mjeteve që thërrasin `minorguard serve`.",
    "Address to listen on (default: this machine only).": "Adresa ku dëgjon (e paracaktuar: vetëm ky kompjuter).",
    "Also list revoked keys.": "Liston edhe çelësat e revokuar.",
    "Create a key (creates the register if there is none); the key is printed once and stored only as its sha256.":
        "Krijon një çelës (krijon regjistrin nëse nuk ka); çelësi shfaqet një herë dhe ruhet vetëm si sha256.",
    "Largest upload; larger: 413 before it is read.": "Ngarkimi më i madh; më i madh: 413 para se të lexohet.",
    "Photos checked at once per process (0: the cores).": "Fotot që kontrollohen njëkohësisht për proces (0: bërthamat).",
    "Port to listen on.": "Porta ku dëgjon.",
    "Processes; each loads the models once.": "Proceset; secili ngarkon modelet një herë.",
    "Revoke a key: its next request is refused (401). The row stays, so the audit log's tool names stay explained.":
        "Revokon një çelës: kërkesa e tij e radhës refuzohet (401). Rreshti mbetet, që emrat e mjeteve në ditarin e auditimit të mbeten të shpjeguar.",
    "Seconds a check may take; past it: 503, nothing decided.": "Sekondat që mund të zgjasë një kontroll; më shumë: 503, nuk vendoset asgjë.",
    "Serve check and export to publishing tools over HTTP (OpenAPI at /v1/openapi.json); Ctrl-C stops it.":
        "U shërben mjeteve të publikimit kontrollin dhe eksportin me HTTP (OpenAPI te /v1/openapi.json); Ctrl-C e ndal.",
    "The calling tool's name; every audit entry of its requests carries it.": "Emri i mjetit që thërret; çdo shënim auditimi i kërkesave të tij e mban.",
    "The key's id (minorguard key list).": "Id e çelësit (minorguard key list).",
    "The keys: id, tool, when and by whom created, when revoked. Never the keys themselves.":
        "Çelësat: id, mjeti, kur dhe nga kush u krijua, kur u revokua. Kurrë vetë çelësat.",
    # audit relied, consent withdraw
    "A consent record's id (cr-...).": "Id e një regjistrimi leje (cr-...).",
    "An event's id.": "Id e një ngjarjeje.",
    "A reviewer's decision number.": "Numri i një vendimi të shqyrtuesit.",
    "A `scan --json` report that names the photos (repeatable).": "Një raport `scan --json` që emërton fotot (mund të përsëritet).",
    "An export manifest that names the photos and copies (repeatable).": "Një manifest eksporti që emërton fotot dhe kopjet (mund të përsëritet).",
    "Write the list as CSV.": "Shkruan listën si CSV.",
    "Write the list as JSON.": "Shkruan listën si JSON.",
    "Every photo checked, exported or reviewed while relying on one consent, event or reviewer's decision.":
        "Çdo foto e kontrolluar, e eksportuar ose e shqyrtuar duke u mbështetur te një leje, ngjarje ose vendim shqyrtuesi.",
    "Withdraw a consent and list the photos checked or exported under it (to take down what was published). Photos of the child block from now on; its biometric data is erased unless another consent is still in force or the child is on the never-publish list.":
        "Tërheq një leje dhe liston fotot e kontrolluara ose të eksportuara me të (për të hequr ato që janë publikuar). Fotot e fëmijës bllokohen që tani; të dhënat biometrike fshihen, përveç kur një leje tjetër është ende në fuqi ose fëmija është në listën mos-publiko-kurrë.",
    "Close an event: no more changes; its photos still link to it. Lists the photos checked or exported under its exemption (`minorguard audit relied --event ID` gives the list again, as CSV or JSON too).":
        "Mbyll një ngjarje: pa ndryshime të tjera; fotot e saj mbeten të lidhura. Liston fotot e kontrolluara ose të eksportuara me përjashtimin e saj (`minorguard audit relied --event ID` e jep listën sërish, edhe si CSV ose JSON).",
    "A results file: judge again only photos whose decision could have changed since (kept as each is judged; an interrupted run resumes).":
        "Një skedar rezultatesh: gjykon sërish vetëm fotot vendimi i të cilave mund të ketë ndryshuar (ruhen sapo gjykohen; një ekzekutim i ndërprerë vazhdon).",
    "isolated: each photo in a worker process within --photo-seconds and --photo-memory-mb (a worker per core, as memory allows); local: threads in this process sharing one copy of the models, no limits; ray: a Ray cluster (pip install 'minorguard[ray]').":
        "isolated: çdo foto në një proces punëtor brenda --photo-seconds dhe --photo-memory-mb (një punëtor për bërthamë, sa lejon memoria); local: fije në këtë proces që ndajnë një kopje të modeleve, pa kufij; ray: një grup Ray (pip install 'minorguard[ray]').",
    "A photo taking longer becomes ERROR and the scan goes on (isolated engine).": "Një foto që zgjat më shumë bëhet ERROR dhe kontrolli vazhdon (motori isolated).",
    "Memory a photo may take beyond the loaded models; more becomes ERROR (isolated engine, on Linux).":
        "Memoria që mund të marrë një foto përtej modeleve të ngarkuara; më shumë bëhet ERROR (motori isolated, në Linux).",
    "The Ray cluster (HOST:PORT or auto); default: start one on this machine.": "Grupi Ray (HOST:PORTA ose auto); i paracaktuar: nis një në këtë kompjuter.",
    "Write each result as a JSON line as soon as it is judged.": "Shkruan çdo rezultat si një rresht JSON sapo gjykohet.",
    "Only children of this name (case, spaces and accents typed either way).": "Vetëm fëmijët me këtë emër (shkronja të mëdha ose të vogla, hapësira dhe shenja si të shtypen).",
    "Describe enrolments made with another model pack again, from their stored photos, so that scans recognise those children.":
        "Përshkruan përsëri regjistrimet e bëra me një paketë tjetër modelesh, nga fotot e tyre të ruajtura, që kontrollet t'i njohin ata fëmijë.",
}

# typer's and click's own words in --help (panel titles, the usage line, [default: ...], the --help option) and the
# placeholders minorguard.cli.help gives each option's value, keyed by their English text like the help texts above
FRAMEWORK_SQ: dict[str, str] = {
    "Usage: ": "Përdorimi: ",
    "[OPTIONS]": "[OPSIONET]",
    "COMMAND [ARGS]...": "KOMANDA [ARGUMENTET]...",
    "Arguments": "Argumentet",
    "Options": "Opsionet",
    "Commands": "Komandat",
    "Error": "Gabim",
    "Aborted.": "U anulua.",
    "(deprecated) ": "(e vjetruar) ",
    "[default: {}]": "[e paracaktuar: {}]",
    "[env var: {}]": "[ndryshorja e mjedisit: {}]",
    "[required]": "[i detyrueshëm]",
    "Try [blue]'{command_path} {help_option}'[/] for help.": "Provoni [blue]'{command_path} {help_option}'[/] për ndihmë.",
    "Show this message and exit.": "Shfaq këtë ndihmë dhe del.",
    "TEXT": "TEKST",
    "INTEGER": "NUMËR",
    "NUMBER": "NUMËR",
    "PATH": "SHTEG",
    "FILE": "SKEDAR",
    "FOLDER": "DOSJE",
    "YYYY-MM-DD": "VVVV-MM-DD",
    "YYYY-MM-DDTHH:MM": "VVVV-MM-DDTOO:MM",
}
