/** The resource types the sandbox's stand-ins use beyond the built-in ones. */
import { NetworkAttachmentDefinitionKind } from "../../api/nad.ts";
import { resourceTypeOf } from "../../kube/resources.ts";

export const NADS = resourceTypeOf(NetworkAttachmentDefinitionKind);
