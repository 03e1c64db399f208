using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Builds the request message of a REST call: the JSON body (per the rule's <c>body</c>), then query
/// parameters, then path variables. A body may repeat a field the path binds only with the same value:
/// <c>PUT /v1/policy/a</c> with <c>{"image": "b"}</c> names two resources, and taking either one would
/// act on a resource the caller may not have meant. All problems of the query and path are reported together.
/// A rule without <c>body</c> takes none: a request carrying one that is not empty (see
/// <see cref="RequestBodyReader.IsEmptyAsync"/>) is refused rather than served without it.
/// </summary>
internal sealed class RequestMessageBuilder(HttpRuleBinding binding, JsonTypeResolver types, JsonBodyParser bodyParser)
{
    private string? _noBodyMessage;

    /// <param name="unexpectedBody">The rule has no body and the request carries one that is not empty.</param>
    public IMessage Build(Func<IMessage> create, ReadOnlyMemory<byte> body, bool unexpectedBody, string[] rawPathValues, QueryString query)
    {
        if (unexpectedBody)
        {
            throw TranscodingErrors.InvalidRequest(_noBodyMessage ??= NoBodyMessage(), field: null);
        }
        var hasBody = binding.Body != BodyMapping.None && !IsBlank(body.Span);
        var request = hasBody ? bodyParser.Parse(body, binding) : create();
        var violations = new RequestViolations();
        var json = types.Parser;
        QueryParameterBinder.Apply(request, binding, query, json, violations);
        for (var i = 0; i < binding.PathFields.Count; i++)
        {
            var field = binding.PathFields[i];
            var variable = binding.Template.Variables[i];
            if (!PathDecoding.TryDecode(rawPathValues[i], keepReserved: !variable.IsSingleSegment, out var text))
            {
                violations.Add(field.Text, "the path segment has a malformed percent-encoding or is not UTF-8");
                continue;
            }
            if (!FieldValueParser.TryParse(field.Leaf, text, json, out var value, out var error))
            {
                violations.Add(field.Text, error);
                continue;
            }
            if (hasBody && field.TryGetSetValue(request, out var fromBody) && !Equals(fromBody, value))
            {
                violations.Add(field.Text, "the request body gives it another value than the URL path; leave it out of the body or give the same value");
                continue;
            }
            field.Set(request, value);
        }
        violations.ThrowIfAny();
        return request;
    }

    /// <summary>Says where the fields go instead, with the first one a query parameter can set as the example.</summary>
    private string NoBodyMessage()
    {
        var message = $"{binding} takes no request body";
        var example = binding.Method.InputType.Fields.InDeclarationOrder().FirstOrDefault(f =>
            !binding.PathFields.Any(p => p.Fields[0] == f) && !f.IsMap
            && (f.FieldType != Google.Protobuf.Reflection.FieldType.Message || FieldValueParser.IsTextMessage(f.MessageType)));
        return example is null
            ? message + "; send none."
            : message + $"; its fields go in the query string (for example ?{example.Name}=<value>).";
    }

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }
        return true;
    }
}
