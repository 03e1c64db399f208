using Google.Api;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Reads and validates the <c>google.api.http</c> option of a method (with its additional_bindings)
/// at startup, so a wrong rule fails binding with a message naming the method instead of failing requests.
/// </summary>
internal static class HttpRuleReader
{
    public static IReadOnlyList<HttpRuleBinding> Read(MethodDescriptor method, List<string> errors)
    {
        var rule = method.GetOptions()?.GetExtension(AnnotationsExtensions.Http);
        if (rule is null)
        {
            return [];
        }
        if (method.IsClientStreaming)
        {
            var kind = method.IsServerStreaming ? "bidirectional-streaming" : "client-streaming";
            errors.Add($"'{method.FullName}' is {kind} and has a google.api.http rule: JSON transcoding serves unary and server-streaming methods only; remove the rule.");
            return [];
        }
        var bindings = new List<HttpRuleBinding>();
        Add(method, rule, bindings, errors);
        foreach (var additional in rule.AdditionalBindings)
        {
            if (additional.AdditionalBindings.Count > 0)
            {
                // http.proto: "the nesting may only be one level deep".
                errors.Add($"'{method.FullName}': an additional binding has its own additional_bindings; nesting is one level deep only.");
                continue;
            }
            Add(method, additional, bindings, errors);
        }
        return bindings;
    }

    private static void Add(MethodDescriptor method, HttpRule rule, List<HttpRuleBinding> bindings, List<string> errors)
    {
        var (verb, path) = rule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
            HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
            HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
            HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
            HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
            HttpRule.PatternOneofCase.Custom => (rule.Custom.Kind.ToUpperInvariant(), rule.Custom.Path),
            _ => ("", ""),
        };
        var where = $"'{method.FullName}' ({(verb.Length == 0 ? "no method" : verb)} {path})";
        if (verb.Length == 0 || !verb.All(char.IsAsciiLetter))
        {
            errors.Add($"{where}: the rule needs one of get, put, post, delete, patch or a custom kind that is an HTTP method name.");
            return;
        }
        PathTemplate template;
        try
        {
            template = PathTemplateParser.Parse(path);
        }
        catch (FormatException ex)
        {
            errors.Add($"{where}: invalid path template: {ex.Message}.");
            return;
        }

        var pathFields = new List<FieldPath>();
        foreach (var variable in template.Variables)
        {
            var field = FieldPath.Resolve(method.InputType, variable.FieldPath, allowJsonNames: false, out var error);
            if (field is null)
            {
                errors.Add($"{where}: path variable '{variable.FieldPath}': {error}.");
                continue;
            }
            // http.proto: "Fields mapped to the path pattern cannot be repeated and must have a primitive (non-message) type."
            if (field.Leaf.IsRepeated || field.Leaf.FieldType is FieldType.Message or FieldType.Group)
            {
                errors.Add($"{where}: path variable '{variable.FieldPath}' must be a singular field of a primitive type.");
                continue;
            }
            if (!variable.IsSingleSegment && field.Leaf.FieldType != FieldType.String)
            {
                errors.Add($"{where}: path variable '{variable.FieldPath}' spans several segments, so it must be a string field.");
                continue;
            }
            pathFields.Add(field);
        }

        var body = rule.Body switch
        {
            "" => BodyMapping.None,
            "*" => BodyMapping.All,
            _ => BodyMapping.Field,
        };
        FieldDescriptor? bodyField = null;
        if (body == BodyMapping.Field)
        {
            // http.proto: "the referred field must be present at the top-level of the request message type".
            bodyField = method.InputType.FindFieldByName(rule.Body);
            if (bodyField is null)
            {
                errors.Add($"{where}: body '{rule.Body}' is not a top-level field of {method.InputType.FullName}.");
            }
        }
        FieldDescriptor? responseBodyField = null;
        if (rule.ResponseBody.Length > 0)
        {
            responseBodyField = method.OutputType.FindFieldByName(rule.ResponseBody);
            if (responseBodyField is null)
            {
                errors.Add($"{where}: response_body '{rule.ResponseBody}' is not a top-level field of {method.OutputType.FullName}.");
            }
        }
        if (pathFields.Count != template.Variables.Count || (body == BodyMapping.Field && bodyField is null) || (rule.ResponseBody.Length > 0 && responseBodyField is null))
        {
            return;
        }
        bindings.Add(new HttpRuleBinding
        {
            Method = method,
            HttpMethod = verb,
            Template = template,
            PathFields = pathFields,
            Body = body,
            BodyField = bodyField,
            ResponseBodyField = responseBodyField,
        });
    }
}
