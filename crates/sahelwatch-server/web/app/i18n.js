// Interface text in English and French. `t(key, {name: value})` fills
// `{name}` placeholders; a missing key shows itself (and is caught by the
// browser test that checks every key exists in both languages).

const en = {
  'login.intro': 'Sign in with the account your organisation gave you.',
  'login.username': 'Username', 'login.password': 'Password', 'login.submit': 'Sign in',
  'login.failed': 'Wrong username or password.',
  logout: 'Sign out', loading: 'Loading…',
  'tab.map': 'Incidents', 'tab.reports': 'Reports', 'tab.cases': 'Kidnap cases', 'tab.routes': 'Route planner', 'tab.convoys': 'Convoys',
  'role.admin': 'admin', 'role.analyst': 'analyst', 'role.operator': 'operator', 'role.viewer': 'viewer',
  'map.title': 'Incidents',
  'filter.from': 'From', 'filter.to': 'To', 'filter.country': 'Country', 'filter.event_type': 'Event type',
  'filter.sub_event_type': 'Sub-event type', 'filter.actor': 'Actor', 'filter.text': 'Text in the notes',
  'filter.apply': 'Apply', 'filter.reset': 'Reset', 'filter.any': 'Any',
  layers: 'Layers', 'layer.clusters': 'Clusters', 'layer.heat': 'Heat map', 'layer.hotspots': 'Hotspots',
  'hot.hot': 'hotspot (Gi*, 95–99 %)', 'hot.cold': 'cold spot',
  'summary.incidents': 'incidents', 'summary.fatalities': 'fatalities',
  'summary.scope': 'Counts, trend and change: the filter within the map view.',
  'trend.title': 'Incidents (bars) and fatalities (line) per {period}',
  'period.year': 'year', 'period.quarter': 'quarter', 'period.month': 'month', 'period.week': 'week',
  'change.none': 'Not enough full periods to compare.',
  'change.up': '{cur}: {a} incidents, up {pct} % from {b} in {prev} (fatalities {fa} against {fb}).',
  'change.down': '{cur}: {a} incidents, down {pct} % from {b} in {prev} (fatalities {fa} against {fb}).',
  'change.same': '{cur}: {a} incidents, as many as in {prev} (fatalities {fa} against {fb}).',
  'change.new': '{cur}: {a} incidents, none in {prev}.',
  'inc.title': 'Incident', 'inc.date': 'Date', 'inc.type': 'Type', 'inc.place': 'Place', 'inc.actors': 'Actors',
  'inc.fatalities': 'Fatalities', 'inc.source': 'Source', 'inc.reports': 'Reports ({n})',
  'inc.corroboration': '{r} reports, {n} independent sources; information credibility {c}.',
  'inc.contradictions': 'Sources disagree', 'inc.record': 'the incident record', 'inc.case': 'Kidnap case',
  'grade.title': 'Admiralty grade: source reliability (A–F) and information credibility (1–6)',
  'rep.title': 'File a report', 'rep.text': 'Text', 'rep.text.placeholder': 'Paste the article or the field report…',
  'rep.source': 'Source', 'rep.published': 'Published', 'rep.headline': 'Headline', 'rep.lang': 'Language', 'rep.lang.auto': 'Detect',
  'rep.reliability': 'Source reliability', 'rep.credibility': 'Information credibility',
  'rep.extract': 'Show what is found', 'rep.file': 'File the report', 'rep.recent': 'Recent reports', 'rep.none': 'No reports yet.',
  'rep.extraction': 'Found in the text', 'rep.detected': '(detected)', 'rep.precision': 'precision',
  'rep.unlocated': 'unlocated', 'rep.unlocated.long': 'No place was recognised: the report will be filed as unlocated.',
  'rep.kind': 'What', 'rep.value': 'Reading', 'rep.span': 'Text',
  'rep.kind.date': 'date', 'rep.kind.actor': 'actor', 'rep.kind.place': 'place', 'rep.kind.segment': 'road', 'rep.kind.event': 'event',
  'rep.kind.deaths': 'deaths', 'rep.kind.hostages': 'hostages', 'rep.kind.step': 'case step', 'rep.kind.ransom': 'ransom',
  'rep.grade': 'grade', 'rep.candidates': 'Incidents this may describe', 'rep.nocandidates': 'No matching incident.',
  'rep.score': '{km} km away, {days} days apart', 'rep.confirm': 'Same incident', 'rep.reject': 'Not this one',
  'rep.decision.confirmed': 'Confirmed: this report corroborates the incident.', 'rep.decision.rejected': 'Rejected.',
  'rep.newincident': 'Create a new incident from this report',
  'rel.A': 'completely reliable', 'rel.B': 'usually reliable', 'rel.C': 'fairly reliable', 'rel.D': 'not usually reliable', 'rel.E': 'unreliable', 'rel.F': 'cannot be judged',
  'cred.1': 'confirmed', 'cred.2': 'probably true', 'cred.3': 'possibly true', 'cred.4': 'doubtful', 'cred.5': 'improbable', 'cred.6': 'cannot be judged',
  'case.title': 'Kidnap cases', 'case.status': 'Status', 'case.nationality': 'Nationality', 'case.occupation': 'Occupation',
  'case.perpetrator': 'Perpetrator', 'case.hostages': 'hostages', 'case.hostages.count': 'Hostages', 'case.abducted': 'Abducted', 'case.held': 'Held',
  'case.days': '{n} days', 'case.count': '{n} cases', 'case.none': 'No case matches.', 'case.one': 'Case', 'case.timeline': 'Timeline',
  'case.incident': 'The incident on the map',
  'case.status.held': 'held', 'case.status.released': 'released', 'case.status.rescued': 'rescued', 'case.status.escaped': 'escaped', 'case.status.killed': 'killed',
  'case.step.abducted': 'abducted', 'case.step.claimed': 'claimed', 'case.step.proof_of_life': 'proof of life', 'case.step.negotiation': 'negotiation',
  'case.step.released': 'released', 'case.step.rescued': 'rescued', 'case.step.escaped': 'escaped', 'case.step.killed': 'killed',
  'route.title': 'Plan a route', 'route.from': 'Start', 'route.to': 'End', 'route.pick': 'Pick on the map', 'route.picking': 'Click the map…',
  'route.plan': 'Plan', 'route.depart': 'Departure day', 'route.fastest': 'Fastest', 'route.safest': 'Least exposed', 'route.alt': 'Alternative {n}',
  'route.summary': '{km} km · {h} h · exposure {x}', 'route.profile': 'Road risk along the route', 'route.risk': 'risk',
  'route.none': 'Choose a start and an end (a place name or a click on the map).', 'route.incidents': 'Incidents behind the risk: {n}',
  'route.networks': 'Road network: {name} (imported {date})', 'route.extra': '+{min} min', 'route.saved': '{pct} % less exposure', 'route.mapbtn': 'Map', 'route.nonetwork': 'No road network is loaded: import one with `sahelwatch roads import`.',
  'conv.title': 'Convoys', 'conv.none': 'No active convoy.', 'conv.nopos': 'no position yet', 'conv.escort': 'escorted',
  'alert.title': 'Alerts', 'alert.none': 'No alerts.', 'alert.ack': 'Acknowledge', 'alert.note': 'What was done (optional)',
  'alert.acked': 'Acknowledged by {by} at {at}', 'alert.badge': '{n} to acknowledge',
  'sev.info': 'info', 'sev.warning': 'warning', 'sev.critical': 'critical',
};

const fr = {
  'login.intro': 'Connectez-vous avec le compte fourni par votre organisation.',
  'login.username': 'Identifiant', 'login.password': 'Mot de passe', 'login.submit': 'Se connecter',
  'login.failed': 'Identifiant ou mot de passe incorrect.',
  logout: 'Se déconnecter', loading: 'Chargement…',
  'tab.map': 'Incidents', 'tab.reports': 'Rapports', 'tab.cases': 'Enlèvements', 'tab.routes': 'Itinéraires', 'tab.convoys': 'Convois',
  'role.admin': 'administrateur', 'role.analyst': 'analyste', 'role.operator': 'opérateur', 'role.viewer': 'lecteur',
  'map.title': 'Incidents',
  'filter.from': 'Du', 'filter.to': 'Au', 'filter.country': 'Pays', 'filter.event_type': "Type d'événement",
  'filter.sub_event_type': 'Sous-type', 'filter.actor': 'Acteur', 'filter.text': 'Texte des notes',
  'filter.apply': 'Appliquer', 'filter.reset': 'Effacer', 'filter.any': 'Tous',
  layers: 'Couches', 'layer.clusters': 'Regroupements', 'layer.heat': 'Carte de chaleur', 'layer.hotspots': 'Points chauds',
  'hot.hot': 'point chaud (Gi*, 95–99 %)', 'hot.cold': 'point froid',
  'summary.incidents': 'incidents', 'summary.fatalities': 'morts',
  'summary.scope': 'Comptes, tendance et évolution : le filtre dans la vue de la carte.',
  'trend.title': 'Incidents (barres) et morts (ligne) par {period}',
  'period.year': 'année', 'period.quarter': 'trimestre', 'period.month': 'mois', 'period.week': 'semaine',
  'change.none': 'Pas assez de périodes complètes pour comparer.',
  'change.up': '{cur} : {a} incidents, en hausse de {pct} % par rapport à {b} en {prev} (morts : {fa} contre {fb}).',
  'change.down': '{cur} : {a} incidents, en baisse de {pct} % par rapport à {b} en {prev} (morts : {fa} contre {fb}).',
  'change.same': '{cur} : {a} incidents, autant qu’en {prev} (morts : {fa} contre {fb}).',
  'change.new': '{cur} : {a} incidents, aucun en {prev}.',
  'inc.title': 'Incident', 'inc.date': 'Date', 'inc.type': 'Type', 'inc.place': 'Lieu', 'inc.actors': 'Acteurs',
  'inc.fatalities': 'Morts', 'inc.source': 'Source', 'inc.reports': 'Rapports ({n})',
  'inc.corroboration': '{r} rapports, {n} sources indépendantes ; crédibilité de l’information {c}.',
  'inc.contradictions': 'Les sources divergent', 'inc.record': 'la fiche de l’incident', 'inc.case': 'Enlèvement',
  'grade.title': 'Cotation : fiabilité de la source (A–F) et crédibilité de l’information (1–6)',
  'rep.title': 'Déposer un rapport', 'rep.text': 'Texte', 'rep.text.placeholder': 'Collez l’article ou le rapport de terrain…',
  'rep.source': 'Source', 'rep.published': 'Publié le', 'rep.headline': 'Titre', 'rep.lang': 'Langue', 'rep.lang.auto': 'Détecter',
  'rep.reliability': 'Fiabilité de la source', 'rep.credibility': 'Crédibilité de l’information',
  'rep.extract': 'Voir ce qui est trouvé', 'rep.file': 'Déposer le rapport', 'rep.recent': 'Rapports récents', 'rep.none': 'Aucun rapport.',
  'rep.extraction': 'Trouvé dans le texte', 'rep.detected': '(détectée)', 'rep.precision': 'précision',
  'rep.unlocated': 'non localisé', 'rep.unlocated.long': 'Aucun lieu reconnu : le rapport sera déposé comme non localisé.',
  'rep.kind': 'Quoi', 'rep.value': 'Lecture', 'rep.span': 'Texte',
  'rep.kind.date': 'date', 'rep.kind.actor': 'acteur', 'rep.kind.place': 'lieu', 'rep.kind.segment': 'route', 'rep.kind.event': 'événement',
  'rep.kind.deaths': 'morts', 'rep.kind.hostages': 'otages', 'rep.kind.step': 'étape', 'rep.kind.ransom': 'rançon',
  'rep.grade': 'cotation', 'rep.candidates': 'Incidents que ce rapport peut décrire', 'rep.nocandidates': 'Aucun incident correspondant.',
  'rep.score': 'à {km} km, {days} jours d’écart', 'rep.confirm': 'Même incident', 'rep.reject': 'Pas celui-ci',
  'rep.decision.confirmed': 'Confirmé : ce rapport corrobore l’incident.', 'rep.decision.rejected': 'Écarté.',
  'rep.newincident': 'Créer un nouvel incident à partir de ce rapport',
  'rel.A': 'totalement fiable', 'rel.B': 'habituellement fiable', 'rel.C': 'assez fiable', 'rel.D': 'peu fiable', 'rel.E': 'non fiable', 'rel.F': 'ne peut être jugée',
  'cred.1': 'confirmée', 'cred.2': 'probablement vraie', 'cred.3': 'peut-être vraie', 'cred.4': 'douteuse', 'cred.5': 'improbable', 'cred.6': 'ne peut être jugée',
  'case.title': 'Enlèvements', 'case.status': 'Statut', 'case.nationality': 'Nationalité', 'case.occupation': 'Profession',
  'case.perpetrator': 'Auteur', 'case.hostages': 'otages', 'case.hostages.count': 'Otages', 'case.abducted': 'Enlevés le', 'case.held': 'Détenus',
  'case.days': '{n} jours', 'case.count': '{n} cas', 'case.none': 'Aucun cas.', 'case.one': 'Cas', 'case.timeline': 'Chronologie',
  'case.incident': 'L’incident sur la carte',
  'case.status.held': 'détenus', 'case.status.released': 'libérés', 'case.status.rescued': 'secourus', 'case.status.escaped': 'évadés', 'case.status.killed': 'tués',
  'case.step.abducted': 'enlèvement', 'case.step.claimed': 'revendication', 'case.step.proof_of_life': 'preuve de vie', 'case.step.negotiation': 'négociation',
  'case.step.released': 'libération', 'case.step.rescued': 'sauvetage', 'case.step.escaped': 'évasion', 'case.step.killed': 'exécution',
  'route.title': 'Planifier un itinéraire', 'route.from': 'Départ', 'route.to': 'Arrivée', 'route.pick': 'Choisir sur la carte', 'route.picking': 'Cliquez sur la carte…',
  'route.plan': 'Calculer', 'route.depart': 'Jour du départ', 'route.fastest': 'Le plus rapide', 'route.safest': 'Le moins exposé', 'route.alt': 'Variante {n}',
  'route.summary': '{km} km · {h} h · exposition {x}', 'route.profile': 'Risque routier le long de l’itinéraire', 'route.risk': 'risque',
  'route.none': 'Choisissez un départ et une arrivée (un nom de lieu ou un clic sur la carte).', 'route.incidents': 'Incidents à l’origine du risque : {n}',
  'route.networks': 'Réseau routier : {name} (importé le {date})', 'route.extra': '+{min} min', 'route.saved': 'exposition réduite de {pct} %', 'route.mapbtn': 'Carte', 'route.nonetwork': 'Aucun réseau routier chargé : importez-en un avec `sahelwatch roads import`.',
  'conv.title': 'Convois', 'conv.none': 'Aucun convoi en cours.', 'conv.nopos': 'pas encore de position', 'conv.escort': 'escorté',
  'alert.title': 'Alertes', 'alert.none': 'Aucune alerte.', 'alert.ack': 'Acquitter', 'alert.note': 'Mesure prise (facultatif)',
  'alert.acked': 'Acquittée par {by} à {at}', 'alert.badge': '{n} à acquitter',
  'sev.info': 'info', 'sev.warning': 'avertissement', 'sev.critical': 'critique',
};

export const DICTS = { en, fr };
let current = 'en';

export function lang() {
  const saved = localStorage.getItem('lang');
  if (saved === 'fr' || saved === 'en') return saved;
  return (navigator.language || 'en').toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

export function setLang(l) {
  current = l === 'fr' ? 'fr' : 'en';
  localStorage.setItem('lang', current);
  document.documentElement.lang = current;
}

export function t(key, params) {
  let s = DICTS[current][key] ?? DICTS.en[key] ?? key;
  if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** Fill every element marked data-i18n, and the language button. */
export function translatePage() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const b = document.getElementById('lang');
  if (b) b.textContent = current === 'fr' ? 'English' : 'Français';
}
