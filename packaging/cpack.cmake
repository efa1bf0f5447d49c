# `cmake --build build --target package` -> lipar-studio_<version>_amd64.deb (CPack DEB): the two
# programs, the SentencePiece shim (private, in lib/lipar-studio), the desktop entry, the icon,
# AppStream metainfo, man pages and the default Nano pack (share/lipar-studio/packs/default, found
# without configuration). Dependencies are computed by dpkg-shlibdeps.
install(FILES resources/lipar-studio.desktop DESTINATION share/applications)
install(FILES resources/lipar-studio.svg DESTINATION share/icons/hicolor/scalable/apps)
install(FILES resources/org.liparstudio.LiparStudio.metainfo.xml DESTINATION share/metainfo)
# Man pages go in gzip-compressed (Debian policy), made at build time from packaging/man.
foreach(page lipar.1 lipar-studio.1)
    set(gz ${CMAKE_BINARY_DIR}/man/${page}.gz)
    add_custom_command(OUTPUT ${gz}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
        COMMAND gzip -9nc ${CMAKE_CURRENT_SOURCE_DIR}/packaging/man/${page} > ${gz}
        DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/packaging/man/${page} VERBATIM)
    list(APPEND LIPAR_MAN_PAGES ${gz})
endforeach()
add_custom_target(lipar_man_pages ALL DEPENDS ${LIPAR_MAN_PAGES})
install(FILES ${LIPAR_MAN_PAGES} DESTINATION share/man/man1)
install(DIRECTORY resources/packs/nano/ DESTINATION share/lipar-studio/packs/default)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "lipar-studio")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "LIPAR Studio")
set(CPACK_PACKAGE_CONTACT "LIPAR Studio developers <developers@lipar-studio.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "real-time prompt-driven video editing with a diffusion transformer")
set(CPACK_PACKAGE_DESCRIPTION
    "LIPAR Studio edits webcam or file video live as a text prompt asks, with a streaming\n\
video-to-video diffusion transformer accelerated by latent inter-frame pruning. It ships a\n\
trained model (Nano) that stylizes video in real time on a CPU.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "video")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# LibTorch's matrix products are ten times slower without OpenBLAS; ffmpeg receives test streams.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-pthread")
# dpkg-shlibdeps must see the private shim library to resolve what links it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}/lib")
set(CPACK_STRIP_FILES ON)
include(CPack)
