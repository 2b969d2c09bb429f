// DOCTYPE refusal for every XML document the SOAP layer touches (WSDL, XSD, responses), case C31.
// A DOCTYPE is how entities (external files, URLs, "billion laughs") get in; SOAP 1.1/1.2 forbid it in
// messages and no WSDL we load needs one, so the document is refused before any parser sees it.
import { VochubError } from '../../../core/errors.ts';

// `<!DOCTYPE` anywhere (case-insensitive) or an entity declaration; comments cannot hide one from this test.
const DTD = /<!\s*(?:DOCTYPE|ENTITY)\b/i;

export function hasDoctype(text: string): boolean {
  return DTD.test(text);
}

/** Throws SOAP_XML_DOCTYPE; `where` names the document (a file path relative to the set, or "response"). */
export function refuseDoctype(text: string, where: string): void {
  if (hasDoctype(text)) {
    throw new VochubError('SOAP_XML_DOCTYPE', `XML 含 DOCTYPE/实体声明，已拒绝 / XML with a DOCTYPE or entity declaration refused: ${where}`, {
      status: 502,
      details: { where },
    });
  }
}
