using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Transcoding.V1;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>Per-test behaviour of <see cref="TranscodingTestService"/>, registered as a singleton in the test server.</summary>
public sealed class TranscodingHooks
{
    /// <summary>Echo answers its request unless a test replaces this.</summary>
    public Func<Item, ServerCallContext, Task<Item>> Echo { get; set; } = (request, _) => Task.FromResult(request);

    public Func<ListImagesRequest, ServerCallContext, Task<ListImagesResponse>> ListImages { get; set; } = (_, _) => Task.FromResult(new ListImagesResponse());

    /// <summary>Watch waits for this before each message after the first, so tests can see the array arrive incrementally.</summary>
    public Func<int, Task> BeforeWatchMessage { get; set; } = _ => Task.CompletedTask;

    /// <summary>The last context a handler saw.</summary>
    public ServerCallContext? LastContext { get; set; }
}

/// <summary>transcoding.v1.TranscodingTestService: echoes, fails on request, streams.</summary>
public sealed class TranscodingTestService(TranscodingHooks hooks)
{
    public Task<Item> Echo(Item request, ServerCallContext context)
    {
        hooks.LastContext = context;
        return hooks.Echo(request, context);
    }

    public Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context) => hooks.ListImages(request, context);

    public Task<Empty> Fail(FailRequest request, ServerCallContext context)
    {
        if (request.Crash)
        {
            throw new InvalidOperationException("secret connection string");
        }
        var code = (StatusCode)request.Code;
        if (request.Violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(request.Reason, request.Violations.Select(v => v.Split('=', 2)).Select(p => new FieldViolation(p[0], p[1])).ToArray());
        }
        throw request.Reason.Length > 0
            ? RpcErrors.Exception(code, request.Reason, request.Message, new Dictionary<string, string> { ["image"] = "img.video.svc" })
            : new RpcException(code, request.Message);
    }

    public async Task Watch(WatchRequest request, IServerStreamWriter<Item> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Count; i++)
        {
            if (i > 0)
            {
                await hooks.BeforeWatchMessage(i);
            }
            await responseStream.WriteAsync(new Item { Name = $"{request.Name}-{i}", Big = i }, context.CancellationToken);
        }
        if (request.FailCode != 0)
        {
            throw new RpcException((StatusCode)request.FailCode, "watch failed");
        }
    }

    public Task<Empty> GrpcOnly(Empty request, ServerCallContext context) => Task.FromResult(new Empty());
}

/// <summary>transcoding.v1.UploadService (client streaming, with an http rule that cannot be served).</summary>
public sealed class UploadService
{
    public Task<Empty> Upload(IAsyncStreamReader<Item> requestStream, ServerCallContext context) => Task.FromResult(new Empty());
}
