using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Transcoding;
using ControlPlane.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Auth;

/// <summary>The admin_only method option enforced over gRPC, on a real server.</summary>
public sealed class AdminAuthInterceptorTests
{
    private const string Token = "correct-horse-battery-staple";

    private static readonly Method<SetPolicyRequest, SetPolicyResponse> SetPolicy = new(PolicyReflection.Descriptor.Services[0].FindMethodByName("SetPolicy"));
    private static readonly Method<GetPolicyRequest, GetPolicyResponse> GetPolicy = new(PolicyReflection.Descriptor.Services[0].FindMethodByName("GetPolicy"));

    private static Task<GrpcTestServer> StartAsync(PlatformToken token) => GrpcTestServer.StartAsync(new GrpcTestServerOptions
    {
        ConfigureServices = s => s.AddSingleton(token).AddSingleton<CallCounter>(),
        ConfigureGrpc = g => g.AddInterceptor<AdminAuthInterceptor>(),
        Map = app => app.MapGrpcService<StubPolicyService>(PolicyReflection.Descriptor.Services[0]),
    });

    [Fact]
    public async Task AdminMethod_WithoutToken_IsUnauthenticated()
    {
        await using var server = await StartAsync(PlatformToken.FromValue(Token));
        using var channel = server.CreateChannel();
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(SetPolicy, new SetPolicyRequest { Image = "img.a" }).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("unauthorized", error.Status.Reason());
        Assert.Equal(0, StubPolicyService.Calls(server));
    }

    [Fact]
    public async Task AdminMethod_WithWrongToken_IsPermissionDenied_AndTheTokensStayOutOfTheLogs()
    {
        await using var server = await StartAsync(PlatformToken.FromValue(Token));
        using var channel = server.CreateChannel();
        var options = new CallOptions(headers: new Metadata { { "x-platform-token", "guess-" + Token[..5] } });
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(SetPolicy, new SetPolicyRequest { Image = "img.a" }, options).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("unauthorized", error.Status.Reason());
        Assert.Equal(0, StubPolicyService.Calls(server));
        Assert.Contains(server.Logs.Records, r => r.Message.Contains("wrong token", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Records, r => r.Message.Contains(Token[..5], StringComparison.Ordinal) || r.Message.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AdminMethod_WithTheToken_IsServed()
    {
        await using var server = await StartAsync(PlatformToken.FromValue(Token));
        using var channel = server.CreateChannel();
        var options = new CallOptions(headers: new Metadata { { "x-platform-token", Token } });
        await channel.AsyncUnaryCall(SetPolicy, new SetPolicyRequest { Image = "img.a" }, options).ResponseAsync.DefaultTimeout();
        Assert.Equal(1, StubPolicyService.Calls(server));
        Assert.DoesNotContain(server.Logs.Records, r => r.Message.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadMethods_NeedNoToken()
    {
        await using var server = await StartAsync(PlatformToken.FromValue(Token));
        using var channel = server.CreateChannel();
        await channel.AsyncUnaryCall(GetPolicy, new GetPolicyRequest { Image = "img.a" }).ResponseAsync.DefaultTimeout();
    }

    [Fact]
    public async Task WithoutAConfiguredToken_AdminMethodsAreRefused_EvenWithSomeToken()
    {
        await using var server = await StartAsync(PlatformToken.FromValue(null));
        using var channel = server.CreateChannel();
        var options = new CallOptions(headers: new Metadata { { "x-platform-token", "anything" } });
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(SetPolicy, new SetPolicyRequest(), options).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("PLATFORM_TOKEN", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 401, 16)]
    [InlineData("wrong", 403, 7)]
    [InlineData(Token, 200, 0)]
    public async Task OverRest_TheSameRuleApplies_MappedTo401And403(string? token, int httpStatus, int grpcCode)
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            ConfigureServices = s => s.AddSingleton(PlatformToken.FromValue(Token)).AddSingleton<CallCounter>().AddGrpcJsonTranscoding(),
            ConfigureGrpc = g => g.AddInterceptor<AdminAuthInterceptor>(),
            Map = app => app.MapGrpcService<StubPolicyService>(PolicyReflection.Descriptor.Services[0]),
        });
        using var http = new HttpClient { BaseAddress = server.Address };
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/policy/img.video.svc")
        {
            Content = new StringContent("""{"algorithm":"weighted_rr","weights":{"i1":2,"i2":1}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Add("X-Platform-Token", token);
        }

        using var response = await http.SendAsync(request).DefaultTimeout();
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout()).RootElement;

        Assert.Equal(httpStatus, (int)response.StatusCode);
        Assert.Equal(grpcCode == 0 ? 1 : 0, StubPolicyService.Calls(server));
        if (grpcCode != 0)
        {
            Assert.Equal(grpcCode, body.GetProperty("code").GetInt32());
            Assert.Equal("unauthorized", body.GetProperty("details")[0].GetProperty("reason").GetString());
        }
    }

    [Theory]
    [InlineData(Token, Token)]
    [InlineData("wrong", Token)]
    [InlineData(Token, "wrong")]
    public async Task AdminMethod_WithTheTokenInTwoMetadataEntries_IsUnauthenticated_WhateverTheValues(string first, string second)
    {
        await using var server = await StartAsync(PlatformToken.FromValue(Token));
        using var channel = server.CreateChannel();
        var options = new CallOptions(headers: new Metadata { { "x-platform-token", first }, { "x-platform-token", second } });
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(SetPolicy, new SetPolicyRequest { Image = "img.a" }, options).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("unauthorized", error.Status.Reason());
        Assert.Equal(0, StubPolicyService.Calls(server));
        Assert.Contains(server.Logs.Records, r => r.Message.Contains("more than once", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Records, r => r.Message.Contains(Token, StringComparison.Ordinal) || r.Message.Contains("wrong", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("X-Platform-Token: " + Token + "\r\nX-Platform-Token: " + Token)]
    [InlineData("X-Platform-Token: wrong\r\nX-Platform-Token: " + Token)]
    [InlineData("X-Platform-Token: " + Token + "," + Token)]
    [InlineData("X-Platform-Token: " + Token + ", wrong")]
    public async Task OverRest_TheTokenHeaderTwiceOrCommaJoined_Is401_WhateverTheValues(string tokenLines)
    {
        await using var server = await StartRestAsync();
        const string body = """{"algorithm":"weighted_rr","weights":{"i1":2,"i2":1}}""";
        // Raw HTTP/1.1: HttpClient would merge repeated fields into one line; a client need not.
        var request = $"PUT /v1/policy/img.video.svc HTTP/1.1\r\nHost: {server.Address.Authority}\r\nContent-Type: application/json\r\n"
            + $"Content-Length: {body.Length}\r\n{tokenLines}\r\nConnection: close\r\n\r\n{body}";

        var (status, response) = await SendRawAsync(server.Address, request);

        Assert.Equal(401, status);
        Assert.Contains("\"code\":16", response, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"unauthorized\"", response, StringComparison.Ordinal);
        Assert.Equal(0, StubPolicyService.Calls(server));
        Assert.DoesNotContain(server.Logs.Records, r => r.Message.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public void AConfiguredTokenWithAComma_IsRefused_ForItCouldNeverBeSentAsOneValue()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PlatformToken.FromValue("one,two", "PLATFORM_TOKEN"));
        Assert.Contains("PLATFORM_TOKEN", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("one,two", error.Message, StringComparison.Ordinal);
    }

    private static Task<GrpcTestServer> StartRestAsync() => GrpcTestServer.StartAsync(new GrpcTestServerOptions
    {
        Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
        ConfigureServices = s => s.AddSingleton(PlatformToken.FromValue(Token)).AddSingleton<CallCounter>().AddGrpcJsonTranscoding(),
        ConfigureGrpc = g => g.AddInterceptor<AdminAuthInterceptor>(),
        Map = app => app.MapGrpcService<StubPolicyService>(PolicyReflection.Descriptor.Services[0]),
    });

    /// <summary>Writes <paramref name="request"/> as is on a new connection; the status and the whole answer (the server closes).</summary>
    private static async Task<(int Status, string Answer)> SendRawAsync(Uri address, string request)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port).DefaultTimeout();
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request)).AsTask().DefaultTimeout();
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        var text = await reader.ReadToEndAsync().DefaultTimeout();
        return (int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture), text);
    }

    /// <summary>Answers every PolicyService method and counts the calls that got through.</summary>
    public sealed class StubPolicyService
    {
        public static int Calls(GrpcTestServer server) => Volatile.Read(ref server.Services.GetRequiredService<CallCounter>().Count);

        public StubPolicyService(CallCounter counter) => Counter = counter;

        private CallCounter Counter { get; }

        public Task<SetPolicyResponse> SetPolicy(SetPolicyRequest request, ServerCallContext context) => Count(new SetPolicyResponse());

        public Task<GetPolicyResponse> GetPolicy(GetPolicyRequest request, ServerCallContext context) => Count(new GetPolicyResponse());

        public Task<ListPoliciesResponse> ListPolicies(ListPoliciesRequest request, ServerCallContext context) => Count(new ListPoliciesResponse());

        public Task<DeletePolicyResponse> DeletePolicy(DeletePolicyRequest request, ServerCallContext context) => Count(new DeletePolicyResponse());

        public Task<ListPolicyChangesResponse> ListPolicyChanges(ListPolicyChangesRequest request, ServerCallContext context) => Count(new ListPolicyChangesResponse());

        private Task<T> Count<T>(T response)
        {
            Interlocked.Increment(ref Counter.Count);
            return Task.FromResult(response);
        }
    }

    public sealed class CallCounter
    {
        public int Count;
    }
}
