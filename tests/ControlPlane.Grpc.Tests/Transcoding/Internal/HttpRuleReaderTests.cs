using ControlPlane.Grpc.Transcoding.Internal;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;
using FieldLabel = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Label;

namespace ControlPlane.Grpc.Tests.Transcoding.Internal;

/// <summary>The startup check of google.api.http rules: a bad rule fails binding with a message naming the method.</summary>
public sealed class HttpRuleReaderTests
{
    [Fact]
    public void ValidRule_WithAdditionalBindings_GivesOneBindingEach()
    {
        var rule = new HttpRule { Get = "/v1/{name}", ResponseBody = "tags" };
        rule.AdditionalBindings.Add(new HttpRule { Patch = "/v1/{sub.id}", Body = "sub" });
        rule.AdditionalBindings.Add(new HttpRule { Custom = new CustomHttpPattern { Kind = "head", Path = "/v1/x" } });
        var errors = new List<string>();
        var bindings = HttpRuleReader.Read(Method(rule), errors);
        Assert.Empty(errors);
        Assert.Equal(["GET /v1/{name}", "PATCH /v1/{sub.id}", "HEAD /v1/x"], bindings.Select(b => b.ToString()));
        Assert.Equal("tags", bindings[0].ResponseBodyField?.Name);
        Assert.Equal(BodyMapping.Field, bindings[1].Body);
        Assert.Equal("sub.id", Assert.Single(bindings[1].PathFields).Text);
    }

    [Theory]
    [InlineData("/v1/{nope}", "path variable 'nope': rules.v1.Request has no field 'nope'")]
    [InlineData("/v1/{tags}", "path variable 'tags' must be a singular field of a primitive type")]
    [InlineData("/v1/{sub}", "path variable 'sub' must be a singular field of a primitive type")]
    [InlineData("/v1/{name.x}", "'name' is not a message, so 'name.x' cannot reach into it")]
    [InlineData("/v1/{port=**}", "path variable 'port' spans several segments, so it must be a string field")]
    [InlineData("/v1/{name=**}/x", "invalid path template: '**' must be the last segment")]
    public void BadPath_IsNamed(string path, string error) =>
        Assert.Contains(error, Assert.Single(Errors(new HttpRule { Get = path })));

    [Fact]
    public void BadBodyOrResponseBody_IsNamed()
    {
        Assert.Contains("body 'nope' is not a top-level field of rules.v1.Request", Assert.Single(Errors(new HttpRule { Post = "/v1/x", Body = "nope" })));
        Assert.Contains("response_body 'sub.id' is not a top-level field of rules.v1.Request", Assert.Single(Errors(new HttpRule { Get = "/v1/x", ResponseBody = "sub.id" })));
    }

    [Fact]
    public void RuleWithoutPattern_OrNestedAdditionalBindings_IsRefused()
    {
        Assert.Contains("needs one of get, put, post, delete, patch", Assert.Single(Errors(new HttpRule { Body = "*" })));
        Assert.Contains("needs one of get", Assert.Single(Errors(new HttpRule { Custom = new CustomHttpPattern { Kind = "*", Path = "/v1/x" } })));
        var nested = new HttpRule { Get = "/v1/a" };
        nested.AdditionalBindings.Add(new HttpRule { Get = "/v1/b", AdditionalBindings = { new HttpRule { Get = "/v1/c" } } });
        Assert.Contains("nesting is one level deep only", Assert.Single(Errors(nested)));
    }

    [Fact]
    public void StreamingRequests_CannotBeTranscoded()
    {
        var errors = new List<string>();
        HttpRuleReader.Read(Method(new HttpRule { Post = "/v1/x", Body = "*" }, clientStreaming: true, serverStreaming: true), errors);
        Assert.Equal("'rules.v1.Service.M' is bidirectional-streaming and has a google.api.http rule: JSON transcoding serves unary and server-streaming methods only; remove the rule.", Assert.Single(errors));
    }

    [Fact]
    public void TwoBindingsOfOneShape_CannotShareARoute()
    {
        var group = new TranscodedRouteGroup(["GET", "HEAD"]);
        var errors = new List<string>();
        var first = HttpRuleReader.Read(Method(new HttpRule { Get = "/v1/{name}" }), errors).Single();
        var second = HttpRuleReader.Read(Method(new HttpRule { Get = "/v1/{port}" }), errors).Single();
        group.Add(new TranscodedRoute(first, (_, _) => Task.CompletedTask));
        var ex = Assert.Throws<InvalidOperationException>(() => group.Add(new TranscodedRoute(second, (_, _) => Task.CompletedTask)));
        Assert.Contains("maps GET /v1/{port}, which 'rules.v1.Service.M' already maps as GET /v1/{name}", ex.Message);
    }

    private static List<string> Errors(HttpRule rule)
    {
        var errors = new List<string>();
        HttpRuleReader.Read(Method(rule), errors);
        Assert.All(errors, e => Assert.StartsWith("'rules.v1.Service.M'", e, StringComparison.Ordinal));
        return errors;
    }

    /// <summary>A method of a descriptor built at run time: rules.v1.Service.M(Request) returns (Request).</summary>
    private static MethodDescriptor Method(HttpRule rule, bool clientStreaming = false, bool serverStreaming = false)
    {
        var sub = new DescriptorProto { Name = "Sub", Field = { Field("id", 1, FieldType.String) } };
        var request = new DescriptorProto
        {
            Name = "Request",
            Field =
            {
                Field("name", 1, FieldType.String),
                Field("tags", 2, FieldType.String, FieldLabel.Repeated),
                Field("sub", 3, FieldType.Message, typeName: ".rules.v1.Sub"),
                Field("port", 4, FieldType.Int32),
            },
        };
        var options = new MethodOptions();
        options.SetExtension(AnnotationsExtensions.Http, rule);
        var method = new MethodDescriptorProto
        {
            Name = "M",
            InputType = ".rules.v1.Request",
            OutputType = ".rules.v1.Request",
            ClientStreaming = clientStreaming,
            ServerStreaming = serverStreaming,
            Options = options,
        };
        var file = new FileDescriptorProto
        {
            Name = "rules/v1/rules.proto",
            Package = "rules.v1",
            Syntax = "proto3",
            MessageType = { sub, request },
            Service = { new ServiceDescriptorProto { Name = "Service", Method = { method } } },
        };
        var built = FileDescriptor.BuildFromByteStrings([file.ToByteString()], new ExtensionRegistry { AnnotationsExtensions.Http });
        return built[0].Services[0].Methods[0];
    }

    private static FieldDescriptorProto Field(string name, int number, FieldType type, FieldLabel label = FieldLabel.Optional, string? typeName = null)
    {
        var field = new FieldDescriptorProto { Name = name, Number = number, Type = type, Label = label, JsonName = name };
        if (typeName is not null)
        {
            field.TypeName = typeName;
        }
        return field;
    }
}
